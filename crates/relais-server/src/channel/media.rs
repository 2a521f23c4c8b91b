//! Fetching what customers send (images, documents, audio, video) from the provider
//! before its URL expires, as each documents it: WhatsApp `GET /{media-id}` then the
//! short-lived `url` with the same token; Telegram `getFile` then
//! `/file/bot<token>/<file_path>`; Messenger and Instagram the attachment's URL.

use super::{LiveChannel, telegram, whatsapp};
use serde_json::Value;

/// The largest attachment kept.
pub const MAX_BYTES: usize = 16 * 1024 * 1024;

/// What one fetch gave.
#[derive(Debug)]
pub enum Fetched {
    File {
        bytes: Vec<u8>,
        mime_type: Option<String>,
    },
    /// Worth trying again (network, 429, 5xx).
    Retry(String),
    /// Never (4xx, too large, no such file).
    Failed(String),
}

async fn get(req: reqwest::RequestBuilder, what: &str) -> Result<reqwest::Response, Fetched> {
    let r = req
        .send()
        .await
        .map_err(|e| Fetched::Retry(format!("{what}: {e}")))?;
    let s = r.status();
    if s.is_success() {
        Ok(r)
    } else if s.as_u16() == 429 || s.as_u16() == 408 || s.is_server_error() {
        Err(Fetched::Retry(format!("{what} answered {s}")))
    } else {
        Err(Fetched::Failed(format!("{what} answered {s}")))
    }
}

async fn json(req: reqwest::RequestBuilder, what: &str) -> Result<Value, Fetched> {
    get(req, what)
        .await?
        .json::<Value>()
        .await
        .map_err(|e| Fetched::Failed(format!("{what}: not JSON: {e}")))
}

/// Reads the body, refusing more than [`MAX_BYTES`].
async fn bytes(mut r: reqwest::Response, what: &str) -> Fetched {
    if r.content_length().is_some_and(|n| n as usize > MAX_BYTES) {
        return Fetched::Failed(format!("{what}: larger than {MAX_BYTES} bytes"));
    }
    let mime_type = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut out = Vec::new();
    loop {
        match r.chunk().await {
            Ok(Some(c)) => {
                if out.len() + c.len() > MAX_BYTES {
                    return Fetched::Failed(format!("{what}: larger than {MAX_BYTES} bytes"));
                }
                out.extend_from_slice(&c);
            }
            Ok(None) => {
                return Fetched::File {
                    bytes: out,
                    mime_type,
                };
            }
            Err(e) => return Fetched::Retry(format!("{what}: {e}")),
        }
    }
}

pub async fn fetch(client: &reqwest::Client, ch: &LiveChannel, provider_ref: &str) -> Fetched {
    match fetch_inner(client, ch, provider_ref).await {
        Ok(f) | Err(f) => f,
    }
}

async fn fetch_inner(
    client: &reqwest::Client,
    ch: &LiveChannel,
    r: &str,
) -> Result<Fetched, Fetched> {
    Ok(match ch.row.kind.as_str() {
        "whatsapp" => whatsapp_media(client, ch, r).await?,
        "telegram" => telegram_file(client, ch, r).await?,
        // Twilio's media URLs answer with HTTP basic auth when the account requires it.
        "sms" => {
            if !(r.starts_with("https://") || r.starts_with("http://")) {
                return Err(Fetched::Failed("the attachment has no URL".into()));
            }
            let (account, token) = (secret(ch, "account")?, secret(ch, "token")?);
            let resp = get(
                client.get(r).basic_auth(account, Some(token)),
                "Twilio media download",
            )
            .await?;
            bytes(resp, "Twilio media").await
        }
        _ => {
            if !(r.starts_with("https://") || r.starts_with("http://")) {
                return Err(Fetched::Failed("the attachment has no URL".into()));
            }
            let resp = get(client.get(r), "attachment download").await?;
            bytes(resp, "attachment").await
        }
    })
}

/// The channel's secret `role`.
fn secret(ch: &LiveChannel, role: &str) -> Result<String, Fetched> {
    ch.secret(role)
        .map(str::to_owned)
        .ok_or_else(|| Fetched::Failed(format!("channel {} has no `{role}` secret", ch.row.id)))
}

/// A WhatsApp media id: looked up for its URL and type, then downloaded.
async fn whatsapp_media(
    client: &reqwest::Client,
    ch: &LiveChannel,
    r: &str,
) -> Result<Fetched, Fetched> {
    let token = secret(ch, "token")?;
    let base = ch.api_base(whatsapp::DEFAULT_API_BASE);
    let meta = json(
        client
            .get(format!("{base}/{}", urlencode(r)))
            .bearer_auth(&token),
        "WhatsApp media lookup",
    )
    .await?;
    let url = meta
        .get("url")
        .and_then(Value::as_str)
        .ok_or_else(|| Fetched::Failed("WhatsApp gave no media url".into()))?;
    let resp = get(
        client.get(url).bearer_auth(&token),
        "WhatsApp media download",
    )
    .await?;
    Ok(match bytes(resp, "WhatsApp media").await {
        Fetched::File { bytes, mime_type } => Fetched::File {
            bytes,
            mime_type: meta
                .get("mime_type")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or(mime_type),
        },
        other => other,
    })
}

/// A Telegram file id: `getFile` for its path, then downloaded.
async fn telegram_file(
    client: &reqwest::Client,
    ch: &LiveChannel,
    r: &str,
) -> Result<Fetched, Fetched> {
    let token = secret(ch, "bot_token")?;
    let base = ch.api_base(telegram::DEFAULT_API_BASE);
    let file = json(
        client.get(format!(
            "{base}/bot{token}/getFile?file_id={}",
            urlencode(r)
        )),
        "Telegram getFile",
    )
    .await?;
    let path = file
        .pointer("/result/file_path")
        .and_then(Value::as_str)
        .ok_or_else(|| Fetched::Failed("Telegram gave no file_path".into()))?;
    let resp = get(
        client.get(format!("{base}/file/bot{token}/{path}")),
        "Telegram file download",
    )
    .await?;
    Ok(bytes(resp, "Telegram file").await)
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

//! Email (SPEC §6). Inbound: `POST /webhooks/email/{id}` with the raw RFC 5322 message
//! as the body and `Authorization: Bearer <inbound_token>` (what a mail provider's
//! inbound route or a small MTA hook posts). Parsed with `mail-parser`: MIME multipart,
//! quoted-printable and base64, the usual charsets, HTML-only mail turned into text;
//! the quoted history and the signature are cut off, attachments listed. The contact is
//! the sender's address; the conversation is theirs on this channel, and the thread
//! (`Message-ID`, `In-Reply-To`, `References`, `Subject`) is kept in the message's
//! payload. Outbound: SMTP with `lettre` (STARTTLS when the server offers it on
//! `smtp://`, TLS from the first byte on `smtps://`, optional auth), a plain text part
//! and a simple HTML part, threaded onto the customer's last message.

use super::{ChannelAdapter, LiveChannel, PayloadError, ProviderEvent, ProviderMessage, SendError};
use async_trait::async_trait;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use mail_parser::{MessageParser, MimeHeaders};
use relais_core::rich::numbered;
use relais_store::{OutboxItem, Store};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Most attachments listed for one mail.
const MAX_ATTACHMENTS: usize = 20;
/// The longest header value kept (ids, subject).
const MAX_HEADER: usize = 998;

/// What Relais keeps of an inbound mail.
#[derive(Debug, Clone, PartialEq)]
pub struct Inbound {
    pub from: String,
    pub name: Option<String>,
    pub subject: Option<String>,
    pub message_id: Option<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    /// The new text only: quoted history and signature cut off.
    pub text: String,
    pub attachments: Vec<MailAttachment>,
}

/// An attachment of a mail, with its decoded content.
#[derive(Debug, Clone, PartialEq)]
pub struct MailAttachment {
    pub filename: Option<String>,
    pub mime_type: String,
    pub content: Vec<u8>,
}

fn clip_header(s: &str) -> String {
    s.chars().take(MAX_HEADER).collect()
}

/// Parses a raw RFC 5322 message.
pub fn parse_mail(raw: &[u8]) -> Result<Inbound, PayloadError> {
    let msg = MessageParser::default()
        .parse(raw)
        .filter(|m| !m.headers().is_empty())
        .ok_or_else(|| PayloadError("the body is not an RFC 5322 message".into()))?;
    let sender = msg
        .from()
        .and_then(|a| a.first())
        .ok_or_else(|| PayloadError("the mail has no From address".into()))?;
    let from = sender
        .address()
        .map(|a| a.trim().to_lowercase())
        .filter(|a| a.contains('@') && a.len() <= 254 && !a.chars().any(char::is_whitespace))
        .ok_or_else(|| PayloadError("the From address is not an email address".into()))?;
    let ids = |v: &mail_parser::HeaderValue<'_>| -> Vec<String> {
        v.as_text_list()
            .map(|l| l.iter().take(50).map(|s| clip_header(s)).collect())
            .unwrap_or_default()
    };
    // A plain text part when there is one; an HTML-only mail is turned into text here
    // (blocks, line breaks, quotes and entities kept as a reader sees them).
    let body = match msg.text_part(0) {
        Some(p) if !p.is_text_html() => p.text_contents().unwrap_or_default().to_owned(),
        _ => msg
            .html_part(0)
            .and_then(|p| p.text_contents())
            .map(html_to_text)
            .unwrap_or_default(),
    };
    let attachments = msg
        .attachments()
        .take(MAX_ATTACHMENTS)
        .map(|a| {
            let mime = a.content_type().map_or_else(
                || "application/octet-stream".to_owned(),
                |c| match c.subtype() {
                    Some(s) => format!("{}/{s}", c.ctype()),
                    None => c.ctype().to_owned(),
                },
            );
            MailAttachment {
                filename: a.attachment_name().map(clip_header),
                mime_type: mime,
                content: a.contents().to_vec(),
            }
        })
        .collect();
    Ok(Inbound {
        from,
        name: sender
            .name()
            .map(|n| n.trim().chars().take(256).collect::<String>())
            .filter(|n| !n.is_empty()),
        subject: msg.subject().map(clip_header),
        message_id: msg.message_id().map(clip_header),
        in_reply_to: ids(msg.in_reply_to()),
        references: ids(msg.references()),
        text: trim_reply(&body),
        attachments,
    })
}

/// HTML as a reader sees it, in text: block elements and `<br>` end lines, `<hr>` is a
/// separator line, `<blockquote>` lines are quoted with `> `, `<head>`, `<style>` and
/// `<script>` are dropped, entities decoded, runs of spaces collapsed.
pub fn html_to_text(html: &str) -> String {
    const BLOCKS: [&str; 16] = [
        "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "section",
        "article", "pre",
    ];
    let mut out = String::with_capacity(html.len() / 2);
    let mut quote = 0usize;
    let mut skip: Option<String> = None;
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        let (text, after) = rest.split_at(lt);
        if skip.is_none() {
            push_text(&mut out, text);
        }
        let Some(gt) = after.find('>') else {
            rest = "";
            break;
        };
        let tag = &after[1..gt];
        rest = &after[gt + 1..];
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if let Some(s) = &skip {
            if closing && *s == name {
                skip = None;
            }
            continue;
        }
        match name.as_str() {
            "head" | "style" | "script" | "title" if !closing => skip = Some(name),
            "br" => end_line(&mut out, quote, true),
            "hr" => {
                end_line(&mut out, quote, false);
                out.push_str("________________________________");
                end_line(&mut out, quote, true);
            }
            "blockquote" => {
                quote = if closing {
                    quote.saturating_sub(1)
                } else {
                    quote + 1
                };
                end_line(&mut out, quote, false);
            }
            n if BLOCKS.contains(&n) => end_line(&mut out, quote, false),
            _ => {}
        }
    }
    if skip.is_none() {
        push_text(&mut out, rest);
    }
    tidy(&out)
}

/// Ends the line, as a block boundary (`always` false: once, adjacent blocks make no
/// blank line) or a `<br>` (`always`), the next line quoted `quote` deep.
fn end_line(out: &mut String, quote: usize, always: bool) {
    while out.ends_with(' ') && !out.ends_with("> ") {
        out.pop();
    }
    let prefix = "> ".repeat(quote);
    if out.is_empty() {
        return;
    }
    // The current line is still empty: only its quote depth changes.
    let line_start = out.rfind('\n').map(|i| i + 1);
    if let Some(start) = line_start
        && !always
        && out[start..].trim_end_matches("> ").is_empty()
    {
        out.truncate(start);
        out.push_str(&prefix);
        return;
    }
    out.push('\n');
    out.push_str(&prefix);
}

/// Each line trimmed, at most one empty line in a row.
fn tidy(out: &str) -> String {
    let mut tidy = String::new();
    let mut blank = 0;
    for line in out.lines() {
        let line = line.trim();
        if line.is_empty() || line == ">" {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        tidy.push_str(line);
        tidy.push('\n');
    }
    tidy.trim().to_owned()
}

/// Text between tags: whitespace collapsed, entities decoded.
fn push_text(out: &mut String, text: &str) {
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if !out.ends_with([' ', '\n']) && !out.is_empty() {
                    out.push(' ');
                }
            }
            '&' => {
                let mut entity = String::new();
                while let Some(&n) = chars.peek() {
                    if n == ';' || entity.len() > 10 {
                        break;
                    }
                    entity.push(n);
                    chars.next();
                }
                let decoded = match entity.as_str() {
                    "amp" => Some('&'),
                    "lt" => Some('<'),
                    "gt" => Some('>'),
                    "quot" => Some('"'),
                    "apos" => Some('\''),
                    "nbsp" => Some(' '),
                    "eacute" => Some('é'),
                    "egrave" => Some('è'),
                    "ecirc" => Some('ê'),
                    "agrave" => Some('à'),
                    "acirc" => Some('â'),
                    "ccedil" => Some('ç'),
                    "ocirc" => Some('ô'),
                    "ugrave" => Some('ù'),
                    "icirc" => Some('î'),
                    "auml" => Some('ä'),
                    "ouml" => Some('ö'),
                    "uuml" => Some('ü'),
                    "szlig" => Some('ß'),
                    "ntilde" => Some('ñ'),
                    "euro" => Some('€'),
                    "rsquo" | "lsquo" => Some('\''),
                    "ldquo" | "rdquo" => Some('"'),
                    "laquo" => Some('«'),
                    "raquo" => Some('»'),
                    "ndash" => Some('–'),
                    "mdash" => Some('—'),
                    "hellip" => Some('…'),
                    e if e.starts_with("#x") || e.starts_with("#X") => {
                        u32::from_str_radix(&e[2..], 16)
                            .ok()
                            .and_then(char::from_u32)
                    }
                    e if e.starts_with('#') => e[1..].parse().ok().and_then(char::from_u32),
                    _ => None,
                };
                match decoded {
                    Some(d) if chars.peek() == Some(&';') => {
                        chars.next();
                        out.push(d);
                    }
                    _ => {
                        out.push('&');
                        out.push_str(&entity);
                    }
                }
            }
            c => out.push(c),
        }
    }
}

/// A line that opens the quoted history: "On … wrote:" and its translations, Outlook's
/// separators and header blocks.
fn opens_quote(line: &str, next: Option<&str>, after: Option<&str>) -> bool {
    let l = line.trim().to_lowercase();
    let n = next.map(|n| n.trim().to_lowercase()).unwrap_or_default();
    let wrote = |ends: &[&str]| ends.iter().any(|e| l.ends_with(e) || n.ends_with(e));
    if (l.starts_with("on ") && wrote(&["wrote:"]))
        || (l.starts_with("le ") && wrote(&["a écrit :", "a écrit:", "a ecrit :"]))
        || (l.starts_with("il ") && wrote(&["ha scritto:", "ha scritto :"]))
        || (l.starts_with("el ") && wrote(&["escribió:", "escribio:"]))
        || (l.starts_with("am ")
            && (l.contains(" schrieb ") || wrote(&["schrieb:", "geschrieben:"]))
            && (l.ends_with(':') || n.ends_with(':')))
    {
        return true;
    }
    let separators = [
        "-----original message-----",
        "----- original message -----",
        "-----message d'origine-----",
        "----- message d'origine -----",
        "-----messaggio originale-----",
        "-----mensaje original-----",
        "-----ursprüngliche nachricht-----",
    ];
    if separators.iter().any(|s| l.starts_with(s)) {
        return true;
    }
    if l.len() >= 20 && l.chars().all(|c| c == '_') {
        return true;
    }
    // Outlook's block: From: … then Sent:/Date: … within the next two lines.
    let from = ["from:", "de :", "de:", "da:", "von:"];
    let sent = [
        "sent:",
        "date:",
        "envoyé :",
        "envoyé:",
        "inviato:",
        "gesendet:",
        "enviado:",
        "to:",
    ];
    let a = after.map(|a| a.trim().to_lowercase()).unwrap_or_default();
    from.iter().any(|f| l.starts_with(f))
        && sent.iter().any(|s| n.starts_with(s) || a.starts_with(s))
}

/// A line that opens a signature: the `-- ` delimiter and the phones' footers.
fn opens_signature(line: &str) -> bool {
    let l = line.trim_end();
    if l == "--" || l == "-- " {
        return true;
    }
    let l = l.trim().to_lowercase();
    [
        "sent from my ",
        "envoyé de mon ",
        "envoyé depuis mon ",
        "inviato da ",
        "enviado desde mi ",
        "von meinem ",
        "get outlook for ",
        "télécharger outlook pour ",
    ]
    .iter()
    .any(|p| l.starts_with(p))
}

/// The new part of a reply: everything before the quoted history or the signature, and
/// without `>` lines. A mail that is all quote keeps its unquoted lines.
pub fn trim_reply(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    let lines: Vec<&str> = text.lines().collect();
    let end = (0..lines.len())
        .find(|&i| {
            opens_quote(
                lines[i],
                lines.get(i + 1).copied(),
                lines.get(i + 2).copied(),
            ) || opens_signature(lines[i])
        })
        .unwrap_or(lines.len());
    let kept: Vec<&str> = lines[..end]
        .iter()
        .copied()
        .filter(|l| !l.trim_start().starts_with('>'))
        .collect();
    let out = kept.join("\n").trim().to_owned();
    if out.is_empty() {
        // Nothing before the quote (a bottom-posted reply, or a forward): keep what is
        // not quoted at all.
        return lines
            .iter()
            .copied()
            .filter(|l| !l.trim_start().starts_with('>'))
            .collect::<Vec<_>>()
            .join("\n")
            .trim()
            .to_owned();
    }
    out
}

/// An inbound mail as the pipeline takes it; the thread goes in the payload.
pub fn to_event(m: Inbound, raw: &[u8]) -> ProviderEvent {
    use sha2::{Digest, Sha256};
    // No Message-ID (rare, but legal): the content identifies a redelivery.
    let external_id = m
        .message_id
        .clone()
        .unwrap_or_else(|| format!("sha256:{}", hex::encode(Sha256::digest(raw))));
    let text = if m.text.is_empty() {
        m.subject.clone().unwrap_or_default()
    } else {
        m.text.clone()
    };
    let listed: Vec<Value> = m
        .attachments
        .iter()
        .map(|a| json!({ "filename": a.filename, "mime_type": a.mime_type, "size": a.content.len() }))
        .collect();
    let attachments: Vec<relais_store::Attachment> = m
        .attachments
        .into_iter()
        .map(|a| {
            use base64::Engine;
            let kind = match a.mime_type.split('/').next() {
                Some("image") => "image",
                Some("audio") => "audio",
                Some("video") => "video",
                _ => "document",
            };
            relais_store::Attachment {
                kind: kind.into(),
                size: a.content.len() as i64,
                content_base64: base64::engine::general_purpose::STANDARD.encode(&a.content),
                filename: a.filename,
                mime_type: Some(a.mime_type),
            }
        })
        .collect();
    ProviderEvent::Message(Box::new(ProviderMessage {
        address: m.from,
        external_id,
        text,
        name: m.name,
        button: None,
        payload: Some(json!({
            "type": "email",
            "subject": m.subject,
            "message_id": m.message_id,
            "in_reply_to": m.in_reply_to,
            "references": m.references,
            "attachments": listed,
        })),
        callback_query: None,
        attachments,
        media: None,
    }))
}

/// The ids an inbound mail answers (`In-Reply-To`, then `References` newest first), for
/// joining the conversation Relais wrote them in; empty for other channels' payloads.
pub fn thread_ids(payload: Option<&Value>) -> Vec<String> {
    let Some(p) = payload.filter(|p| p["type"] == "email") else {
        return Vec::new();
    };
    let list = |k: &str| -> Vec<String> {
        p[k].as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut ids = list("in_reply_to");
    for r in list("references").into_iter().rev() {
        if !ids.contains(&r) {
            ids.push(r);
        }
    }
    ids.truncate(20);
    ids
}

/// The thread a reply continues: the customer's last mail's subject and ids.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Thread {
    pub subject: Option<String>,
    pub message_id: Option<String>,
    pub references: Vec<String>,
}

impl Thread {
    pub fn of(payload: Option<&Value>) -> Thread {
        let Some(p) = payload.filter(|p| p["type"] == "email") else {
            return Thread::default();
        };
        Thread {
            subject: p["subject"].as_str().map(str::to_owned),
            message_id: p["message_id"].as_str().map(str::to_owned),
            references: p["references"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// `Re: <subject>` (once), or a subject naming the conversation.
    pub fn reply_subject(&self, conversation: i64) -> String {
        match self
            .subject
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(s) if s.to_lowercase().starts_with("re:") => s.to_owned(),
            Some(s) => format!("Re: {s}"),
            None => format!("Your conversation #{conversation}"),
        }
    }

    /// `References`: the customer's references, then their message (at most 20 ids).
    pub fn references_header(&self) -> Option<String> {
        let mut ids: Vec<String> = self.references.clone();
        if let Some(m) = &self.message_id
            && !ids.contains(m)
        {
            ids.push(m.clone());
        }
        let skip = ids.len().saturating_sub(20);
        (!ids.is_empty()).then(|| {
            ids[skip..]
                .iter()
                .map(|i| format!("<{}>", i.trim_matches(['<', '>'])))
                .collect::<Vec<_>>()
                .join(" ")
        })
    }
}

/// The simple HTML part: the text escaped, paragraphs and line breaks kept.
pub fn html_of(text: &str) -> String {
    let esc = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    let paragraphs: Vec<String> = esc
        .split("\n\n")
        .map(|p| format!("<p>{}</p>", p.trim().replace('\n', "<br>")))
        .collect();
    format!(
        "<!doctype html><html><body style=\"font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;font-size:15px;line-height:1.5;color:#1d2330\">{}</body></html>",
        paragraphs.join("")
    )
}

pub use relais_flow::channels::smtp_target;

/// How an SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// `smtps://`: TLS from the first byte.
    Implicit,
    /// `smtp://` with credentials: STARTTLS or nothing, so that a stripped STARTTLS
    /// cannot make Relais send its password in clear.
    StartTlsRequired,
    /// `smtp://` without credentials, or to a relay on this machine.
    StartTlsWhenOffered,
}

pub fn smtp_security(implicit: bool, credentials: bool, host: &str) -> Security {
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match (implicit, credentials && !loopback) {
        (true, _) => Security::Implicit,
        (false, true) => Security::StartTlsRequired,
        (false, false) => Security::StartTlsWhenOffered,
    }
}

pub struct Email {
    pub store: Arc<dyn Store>,
    /// Certificates trusted besides Mozilla's roots (`[http] ca_file`).
    extra_ca_pem: Option<Vec<u8>>,
    /// One pooled transport per channel and SMTP URL.
    transports: Mutex<HashMap<String, AsyncSmtpTransport<Tokio1Executor>>>,
}

impl Email {
    pub fn new(store: Arc<dyn Store>, extra_ca_pem: Option<Vec<u8>>) -> Email {
        Email {
            store,
            extra_ca_pem,
            transports: Mutex::default(),
        }
    }

    fn transport(&self, ch: &LiveChannel) -> Result<AsyncSmtpTransport<Tokio1Executor>, SendError> {
        let url = ch.need_setting("smtp")?;
        let key = format!("{}\n{url}", ch.row.id);
        let mut cache = self.transports.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = cache.get(&key) {
            return Ok(t.clone());
        }
        let permanent = |detail: String| SendError::Permanent { detail };
        let (host, port, implicit) = smtp_target(url).map_err(permanent)?;
        // Mozilla's roots (lettre's webpki-roots) and `[http] ca_file`, host names checked.
        let mut tls = TlsParameters::builder(host.clone());
        if let Some(pem) = &self.extra_ca_pem {
            tls = tls.add_root_certificate(
                lettre::transport::smtp::client::Certificate::from_pem(pem)
                    .map_err(|e| permanent(format!("[http] ca_file for SMTP: {e}")))?,
            );
        }
        let params = tls
            .build_rustls()
            .map_err(|e| permanent(format!("TLS for {host}: {e}")))?;
        let security = smtp_security(implicit, ch.secret("smtp_user").is_some(), &host);
        let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(port)
            .timeout(Some(std::time::Duration::from_secs(30)))
            .tls(match security {
                Security::Implicit => Tls::Wrapper(params),
                Security::StartTlsRequired => Tls::Required(params),
                Security::StartTlsWhenOffered => Tls::Opportunistic(params),
            });
        if let Some(user) = ch.secret("smtp_user") {
            b = b.credentials(Credentials::new(
                user.to_owned(),
                ch.secret("smtp_password").unwrap_or_default().to_owned(),
            ));
        }
        let t = b.build();
        cache.insert(key, t.clone());
        Ok(t)
    }
}

#[async_trait]
impl ChannelAdapter for Email {
    async fn send(
        &self,
        channel: &LiveChannel,
        item: &OutboxItem,
    ) -> Result<Option<String>, SendError> {
        let permanent = |detail: String| SendError::Permanent { detail };
        let from: Mailbox = channel
            .need_setting("from")?
            .parse()
            .map_err(|e| permanent(format!("the `from` setting is not an address: {e}")))?;
        let to: Mailbox = item
            .address
            .parse()
            .map_err(|e| permanent(format!("{:?} is not an email address: {e}", item.address)))?;
        let thread = match self.store.last_inbound(item.conversation).await {
            Ok(last) => Thread::of(last.as_ref().and_then(|e| e.payload.as_ref())),
            Err(e) => {
                return Err(SendError::Retryable {
                    detail: format!("the thread could not be read: {e}"),
                    retry_after: None,
                });
            }
        };
        let domain = from.email.domain().to_owned();
        let nonce: u32 = rand::random();
        let message_id = format!("relais.{}.{nonce:08x}@{domain}", item.message);
        let text = if item.buttons.is_empty() {
            item.text.clone()
        } else {
            numbered(&item.text, &item.buttons)
        };
        let mut b = lettre::Message::builder()
            .from(from)
            .to(to)
            .subject(thread.reply_subject(item.conversation.0))
            .message_id(Some(format!("<{message_id}>")));
        if let Some(m) = &thread.message_id {
            b = b.in_reply_to(format!("<{}>", m.trim_matches(['<', '>'])));
        }
        if let Some(r) = thread.references_header() {
            b = b.references(r);
        }
        let mail = b
            .multipart(MultiPart::alternative_plain_html(
                text.clone(),
                html_of(&text),
            ))
            .map_err(|e| permanent(format!("the mail could not be built: {e}")))?;
        let transport = self.transport(channel)?;
        match transport.send(mail).await {
            Ok(_) => Ok(Some(message_id)),
            Err(e) if e.is_permanent() => Err(permanent(format!("SMTP refused the mail: {e}"))),
            Err(e) if e.is_timeout() => Err(SendError::Ambiguous {
                detail: format!("SMTP timed out: {e}"),
            }),
            Err(e) => Err(SendError::Retryable {
                detail: format!("SMTP: {e}"),
                retry_after: None,
            }),
        }
    }
}

#[cfg(test)]
mod tests;

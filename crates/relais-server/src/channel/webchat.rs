//! The built-in web chat (SPEC §6): the pure parts. A visitor's session is a random
//! token kept in their browser; their address on the channel is derived from it by a
//! one-way hash, so the server stores no session and a database reader cannot take a
//! visitor's session over. The frames both transports speak (the WebSocket and the HTTP
//! fallback) are defined here; `http::webchat` moves them.
//!
//! Outbound messages (an agent's reply, a reminder) go through the outbox like on every
//! channel: "sending" one only gives it an id, and the visitor's socket, which follows
//! the event log, reads it from the store. That works across nodes (the socket may be
//! on another node than the outbox), and the fallback chain applies unchanged.

use super::{ChannelAdapter, LiveChannel, SendError};
use crate::clock::Clock;
use async_trait::async_trait;
use base64::Engine;
use relais_core::id::ChannelId;
use relais_core::message::{AuthorKind, Direction};
use relais_core::{Duration, Timestamp};
use relais_store::{Channel, OutboxItem, Store, TranscriptEntry};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A visitor whose page closed this long ago has left (a reload, a dropped line or the
/// pause between two HTTP polls is not leaving).
pub const LEFT_AFTER: Duration = Duration(2 * 60 * 1000);

/// A session token: 32 random bytes, base64url without padding.
const SESSION_LEN: usize = 43;
/// The prefix of a visitor message's de-duplication key (the browser's own id).
const CLIENT_PREFIX: &str = "wc:";
/// The longest client message id accepted.
pub const MAX_CLIENT_ID: usize = 64;

/// A new session token.
pub fn new_session() -> String {
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The visitor's address on `channel` for a session token, or `None` for a token that
/// is not one of ours in shape.
pub fn address_of(channel: &ChannelId, session: &str) -> Option<String> {
    let ok = session.len() == SESSION_LEN
        && session
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !ok {
        return None;
    }
    let mut h = Sha256::new();
    h.update(channel.as_str().as_bytes());
    h.update([0]);
    h.update(session.as_bytes());
    Some(format!("v-{}", &hex::encode(h.finalize())[..32]))
}

/// The de-duplication key of a visitor's message from the browser's id for it.
pub fn external_id(client_id: &str) -> String {
    format!("{CLIENT_PREFIX}{client_id}")
}

/// How the chat looks: the channel's `title` and `color` settings, or defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct Look {
    pub title: String,
    pub color: String,
}

impl Look {
    pub fn of(row: &Channel) -> Look {
        Look {
            title: row
                .setting("title")
                .filter(|t| !t.trim().is_empty())
                .unwrap_or("Chat")
                .to_owned(),
            color: row
                .setting("color")
                .filter(|c| is_color(c))
                .unwrap_or("#2457c5")
                .to_owned(),
        }
    }
}

/// `#rgb` or `#rrggbb`: the only colours a page is given (no CSS injection); the same
/// rule as channels.yaml's.
pub use relais_flow::channels::is_color;

/// The channel's `origins` setting (pages allowed to embed or connect), if set.
pub fn origins(row: &Channel) -> Option<Vec<String>> {
    let list = row.settings.get("origins")?.as_array()?;
    Some(
        list.iter()
            .filter_map(Value::as_str)
            .map(crate::origin::normalize)
            .collect(),
    )
}

/// Whether a socket or request from `origin` may talk to the chat: always from Relais
/// itself (`host`, the request's Host header, or the public URL), else from the
/// channel's `origins` when set, else from anywhere. A request without `Origin` (not a
/// browser) is allowed: origins protect visitors' browsers, not the server.
pub fn origin_allowed(
    row: &Channel,
    origin: Option<&str>,
    host: Option<&str>,
    public_url: Option<&str>,
) -> bool {
    let Some(origin) = origin else {
        return true;
    };
    let origin = crate::origin::normalize(origin);
    if crate::origin::is_this_site(&origin, host, public_url) {
        return true;
    }
    match origins(row) {
        Some(list) => list.iter().any(|o| *o == origin || o == "*"),
        None => true,
    }
}

/// The CSP `frame-ancestors` source list for the chat page.
pub fn frame_ancestors(row: &Channel) -> String {
    match origins(row) {
        Some(list) if !list.is_empty() => {
            let mut out = String::from("'self'");
            for o in list {
                // Only what a CSP source may hold: no spaces, quotes or semicolons.
                if o.bytes()
                    .all(|b| b.is_ascii_graphic() && !matches!(b, b';' | b',' | b'\'' | b'"'))
                {
                    out.push(' ');
                    out.push_str(&o);
                }
            }
            out
        }
        Some(_) => "'self'".into(),
        None => "*".into(),
    }
}

/// A frame from the browser.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "t", rename_all = "lowercase", deny_unknown_fields)]
pub enum ClientFrame {
    /// Opens (or resumes, with `session`) the chat; the answer is `welcome` with the
    /// transcript after `after`.
    Hello {
        #[serde(default)]
        session: Option<String>,
        #[serde(default)]
        after: i64,
        /// The browser's languages, preferred first (`navigator.languages`).
        #[serde(default)]
        languages: Vec<String>,
    },
    /// A typed message; `id` is the browser's id for it (resent after a drop, stored once).
    Say {
        id: String,
        text: String,
    },
    /// A tapped button: its id and title.
    Tap {
        id: String,
        button: String,
        text: String,
    },
    /// The visitor's email, to be answered there once they have left.
    Email {
        address: String,
    },
    /// Every message up to `up_to` has arrived (`read`: and was seen).
    Seen {
        up_to: i64,
        #[serde(default)]
        read: bool,
    },
    Ping,
}

/// A plausible email address (the mail server has the last word): `local@domain.tld`,
/// no spaces, at most 254 bytes.
pub fn valid_email(a: &str) -> bool {
    let Some((local, domain)) = a.split_once('@') else {
        return false;
    };
    a.len() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !a
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>()[],;:\"".contains(c))
}

/// Which web chat visitors have a page open on this node (a socket or an HTTP poll),
/// and since when the others have been gone.
pub struct Presence {
    clock: Arc<dyn Clock>,
    /// (channel, address) → (pages open, when the last one closed).
    pages: Mutex<HashMap<(ChannelId, String), (usize, Timestamp)>>,
}

/// A page open; dropping it closes it.
pub struct Stay {
    presence: Arc<Presence>,
    key: (ChannelId, String),
}

impl Drop for Stay {
    fn drop(&mut self) {
        let now = self.presence.clock.now();
        let mut pages = self
            .presence
            .pages
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(e) = pages.get_mut(&self.key) {
            e.0 = e.0.saturating_sub(1);
            e.1 = now;
        }
        // Forget visitors long gone (bounded memory).
        if pages.len() > 10_000 {
            pages.retain(|_, (n, left)| *n > 0 || now.0 - left.0 < LEFT_AFTER.0);
        }
    }
}

impl Presence {
    pub fn new(clock: Arc<dyn Clock>) -> Arc<Presence> {
        Arc::new(Presence {
            clock,
            pages: Mutex::default(),
        })
    }

    pub fn enter(self: &Arc<Self>, channel: &ChannelId, address: &str) -> Stay {
        let key = (channel.clone(), address.to_owned());
        let now = self.clock.now();
        self.pages
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key.clone())
            .or_insert((0, now))
            .0 += 1;
        Stay {
            presence: self.clone(),
            key,
        }
    }

    /// Whether a page seen at `at` (by any node, `seen_at`) counts as open now.
    pub fn recent(&self, at: Timestamp) -> bool {
        self.clock.now().0 - at.0 < LEFT_AFTER.0
    }

    /// Whether the visitor is on the chat: a page open, or closed less than
    /// [`LEFT_AFTER`] ago. A visitor this node has not seen is not here.
    pub fn here(&self, channel: &ChannelId, address: &str) -> bool {
        let now = self.clock.now();
        self.pages
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(channel.clone(), address.to_owned()))
            .is_some_and(|(n, left)| *n > 0 || now.0 - left.0 < LEFT_AFTER.0)
    }
}

/// A transcript entry as the browser shows it.
pub fn message_frame(e: &TranscriptEntry) -> Value {
    let m = &e.message;
    let from = match (m.direction, m.author) {
        (Direction::Inbound, _) => "you",
        (_, AuthorKind::Agent) => "agent",
        (_, AuthorKind::Bot) => "bot",
        _ => "system",
    };
    let rich: relais_core::rich::Rich = e
        .payload
        .clone()
        .and_then(|p| serde_json::from_value(p).ok())
        .unwrap_or_default();
    let choices: Vec<Value> = if rich.choices.is_empty() {
        m.buttons
            .iter()
            .map(|b| json!({ "id": b, "title": b }))
            .collect()
    } else {
        rich.choices
            .iter()
            .map(|c| json!({ "id": c.id, "title": c.title }))
            .collect()
    };
    // An agent's attachment, as a link (http and https only: no `javascript:`).
    let file = rich
        .media
        .as_ref()
        .filter(|f| f.url.starts_with("https://") || f.url.starts_with("http://"))
        .map(|f| {
            let name = f
                .filename
                .clone()
                .unwrap_or_else(|| f.url.rsplit('/').next().unwrap_or("file").to_owned());
            json!({ "url": f.url, "name": name })
        });
    let client_id = m
        .external_id
        .as_deref()
        .filter(|_| m.direction == Direction::Inbound)
        .and_then(|x| x.strip_prefix(CLIENT_PREFIX));
    json!({
        "t": "msg",
        "id": m.id,
        "from": from,
        "text": m.text,
        "choices": choices,
        "list": rich.list,
        "status": m.status.map(|s| s.as_str()),
        "at": m.created_at,
        "client_id": client_id,
        "channel": m.channel,
        "file": file,
    })
}

/// The languages Relais speaks to a visitor (its built-in texts are in these five).
const LANGUAGES: [&str; 5] = ["fr", "en", "it", "es", "de"];

/// The visitor's language: the first of the browser's that Relais speaks.
pub fn language_of(browser: &[String]) -> Option<String> {
    browser.iter().take(20).find_map(|l| {
        let primary = l.split(['-', '_']).next()?.to_ascii_lowercase();
        LANGUAGES.contains(&primary.as_str()).then_some(primary)
    })
}

/// Checks a browser's message id: 1 to 64 printable ASCII characters.
pub fn valid_client_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_CLIENT_ID && id.bytes().all(|b| b.is_ascii_graphic())
}

/// The web chat's outbox adapter: the message is stored and the visitor's page reads
/// it, so sending only names it. A visitor who has left and gave an email, on a chat
/// with a fallback channel, is not here to read it: the send fails for good and the
/// outbox hands it to the fallback (SPEC §6), which reaches their email.
pub struct WebchatAdapter {
    pub store: Arc<dyn Store>,
    pub presence: Arc<Presence>,
}

#[async_trait]
impl ChannelAdapter for WebchatAdapter {
    async fn send(
        &self,
        channel: &LiveChannel,
        item: &OutboxItem,
    ) -> Result<Option<String>, SendError> {
        let named = Ok(Some(format!("webchat:{}", item.message)));
        if channel.row.fallback.is_none() || self.presence.here(&channel.row.id, &item.address) {
            return named;
        }
        // A page open on another node beats its heartbeat into the store.
        match self
            .store
            .visitor_seen_at(channel.row.id.clone(), item.address.clone())
            .await
        {
            Ok(Some(at)) if self.presence.recent(at) => return named,
            Ok(_) => {}
            Err(e) => {
                return Err(SendError::Retryable {
                    detail: format!("the visitor's presence could not be read: {e}"),
                    retry_after: None,
                });
            }
        }
        let email = match self.store.conversation(item.conversation).await {
            Ok(view) => view.and_then(|v| {
                v.contact
                    .fields
                    .get("email")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            }),
            Err(e) => {
                return Err(SendError::Retryable {
                    detail: format!("the contact could not be read: {e}"),
                    retry_after: None,
                });
            }
        };
        match email {
            Some(_) => Err(SendError::Permanent {
                detail: "the visitor left the web chat; their email takes the message".into(),
            }),
            // They will read it when they come back.
            None => named,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(origins: Option<Value>) -> Channel {
        let mut settings = serde_json::Map::new();
        if let Some(o) = origins {
            settings.insert("origins".into(), o);
        }
        settings.insert("color".into(), json!("red;}body{display:none"));
        Channel {
            id: ChannelId("site".into()),
            kind: "webchat".into(),
            name: "site".into(),
            token_hash: None,
            callback_url: None,
            callback_secret: None,
            created_at: relais_core::Timestamp(0),
            settings: Value::Object(settings),
            fallback: None,
            enabled: true,
            from_file: true,
            default_flow: None,
            secret_names: Value::Null,
        }
    }

    #[test]
    fn a_session_gives_one_address_per_channel_and_odd_tokens_none() {
        let s = new_session();
        assert_eq!(s.len(), SESSION_LEN);
        let a = address_of(&ChannelId("site".into()), &s).unwrap();
        assert_eq!(a, address_of(&ChannelId("site".into()), &s).unwrap());
        assert_ne!(a, address_of(&ChannelId("other".into()), &s).unwrap());
        assert_ne!(
            a,
            address_of(&ChannelId("site".into()), &new_session()).unwrap()
        );
        assert!(a.starts_with("v-") && a.len() == 34);
        for bad in ["", "short", &"a".repeat(44), &format!("{}!", &s[..42])] {
            assert_eq!(address_of(&ChannelId("site".into()), bad), None, "{bad}");
        }
    }

    #[test]
    fn origins_are_enforced_when_set_and_relais_itself_is_always_allowed() {
        let open = row(None);
        assert!(origin_allowed(
            &open,
            Some("https://evil.example"),
            Some("relais:8080"),
            None
        ));
        let shop = row(Some(json!([
            "https://shop.example",
            "http://localhost:3000/"
        ])));
        assert!(origin_allowed(
            &shop,
            Some("https://shop.example"),
            Some("relais:8080"),
            None
        ));
        assert!(origin_allowed(
            &shop,
            Some("http://LOCALHOST:3000"),
            Some("relais:8080"),
            None
        ));
        assert!(!origin_allowed(
            &shop,
            Some("https://evil.example"),
            Some("relais:8080"),
            None
        ));
        assert!(!origin_allowed(
            &shop,
            Some("https://shop.example.evil"),
            None,
            None
        ));
        assert!(origin_allowed(
            &shop,
            Some("http://relais:8080"),
            Some("relais:8080"),
            None
        ));
        assert!(origin_allowed(
            &shop,
            Some("https://support.acme.example"),
            None,
            Some("https://support.acme.example/")
        ));
        assert!(origin_allowed(&shop, None, None, None));
        assert_eq!(
            frame_ancestors(&shop),
            "'self' https://shop.example http://localhost:3000"
        );
        assert_eq!(frame_ancestors(&open), "*");
        let hostile = row(Some(json!(["https://a.example; script-src *"])));
        assert_eq!(frame_ancestors(&hostile), "'self'");
    }

    #[test]
    fn a_visitor_is_here_while_a_page_is_open_and_for_two_minutes_after() {
        let clock = crate::clock::ManualClock::new(Timestamp(1_000_000));
        let presence = Presence::new(Arc::new(clock.clone()));
        let site = ChannelId("site".into());
        assert!(!presence.here(&site, "v-a"), "never seen");
        let tab1 = presence.enter(&site, "v-a");
        let tab2 = presence.enter(&site, "v-a");
        drop(tab1);
        clock.advance(Duration::minutes(10));
        assert!(presence.here(&site, "v-a"), "a tab is still open");
        drop(tab2);
        clock.advance(Duration::seconds(119));
        assert!(presence.here(&site, "v-a"), "a reload is not leaving");
        clock.advance(Duration::seconds(1));
        assert!(!presence.here(&site, "v-a"));
        assert!(!presence.here(&site, "v-b"));
        assert!(valid_email("alice@example.com") && !valid_email("alice@example"));
        assert!(
            !valid_email("a b@example.com")
                && !valid_email("<a@example.com>")
                && !valid_email("@example.com")
        );
    }

    #[test]
    fn only_hex_colours_reach_the_page() {
        assert!(is_color("#0b6bcb") && is_color("#abc"));
        assert!(!is_color("red") && !is_color("#12345") && !is_color("#abc;}"));
        assert_eq!(Look::of(&row(None)).color, "#2457c5");
        assert_eq!(Look::of(&row(None)).title, "Chat");
    }

    #[test]
    fn frames_parse_and_unknown_ones_are_refused() {
        let f: ClientFrame =
            serde_json::from_str(r#"{"t":"say","id":"c1","text":"bonjour"}"#).unwrap();
        assert_eq!(
            f,
            ClientFrame::Say {
                id: "c1".into(),
                text: "bonjour".into()
            }
        );
        assert!(serde_json::from_str::<ClientFrame>(r#"{"t":"shout"}"#).is_err());
        assert!(
            serde_json::from_str::<ClientFrame>(r#"{"t":"say","id":"c","text":"x","x":1}"#)
                .is_err()
        );
        let langs = |l: &[&str]| language_of(&l.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(langs(&["ja-JP", "it-IT", "en"]), Some("it".into()));
        assert_eq!(langs(&["EN_gb"]), Some("en".into()));
        assert_eq!(langs(&["ja"]), None);
        assert!(valid_client_id("m-1a2b") && !valid_client_id("") && !valid_client_id("a b"));
    }
}

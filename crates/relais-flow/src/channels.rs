//! channels.yaml: each channel's id, kind, default flow, fallback, `settings` and
//! `secrets`, checked against what its kind takes (SPEC §6): unknown keys, missing
//! required settings or secrets, and values of the wrong shape are errors with their
//! position. Secret VALUES live in `relais.toml`'s `[secrets]`; here they are names.

use crate::diag::Diags;
use crate::parse::MapReader;
use crate::yaml::{self, Node, Pos, Value};
use serde_json::{Map, Value as Json};

#[derive(Debug, Clone, PartialEq)]
pub struct ChannelDef {
    pub id: String,
    pub kind: String,
    pub default_flow: Option<String>,
    pub fallback: Option<String>,
    /// The kind's settings, checked (a JSON object).
    pub settings: Map<String, Json>,
    /// Secret role → key of `[secrets]`.
    pub secrets: Vec<(String, String)>,
    pub pos: Pos,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Text,
    /// `http://` or `https://`.
    Url,
    /// A positive number (messages per second).
    Rate,
    /// `#rgb` or `#rrggbb`.
    Color,
    /// An E.164 number: `+` and 8 to 15 digits.
    Phone,
    /// An email address, optionally with a display name (`Acme <support@acme.example>`).
    Mailbox,
    /// `smtp://host[:port]` or `smtps://host[:port]`.
    Smtp,
    /// A list of page origins (`https://shop.example`, `http://localhost:3000`).
    Origins,
}

/// What a kind takes: (setting, shape, required) and (secret role, required).
struct Kind {
    settings: &'static [(&'static str, Shape, bool)],
    secrets: &'static [(&'static str, bool)],
}

const META: Kind = Kind {
    settings: &[
        ("api_base", Shape::Url, false),
        ("rate", Shape::Rate, false),
    ],
    secrets: &[
        ("token", true),
        ("app_secret", true),
        ("verify_token", true),
    ],
};

fn kind(name: &str) -> Option<(Kind, Option<&'static str>)> {
    // The second value: the kind's one required identifying setting.
    Some(match name {
        "whatsapp" => (META, Some("phone_number_id")),
        "messenger" | "instagram" => (META, Some("page_id")),
        "telegram" => (
            Kind {
                settings: &[
                    ("api_base", Shape::Url, false),
                    ("rate", Shape::Rate, false),
                ],
                secrets: &[("bot_token", true), ("webhook_secret", true)],
            },
            None,
        ),
        "sms" => (
            Kind {
                settings: &[
                    ("from", Shape::Phone, true),
                    ("api_base", Shape::Url, false),
                    ("rate", Shape::Rate, false),
                ],
                secrets: &[("account", true), ("token", true)],
            },
            None,
        ),
        "email" => (
            Kind {
                settings: &[
                    ("from", Shape::Mailbox, true),
                    ("smtp", Shape::Smtp, false),
                    ("rate", Shape::Rate, false),
                ],
                secrets: &[
                    ("smtp_user", false),
                    ("smtp_password", false),
                    ("inbound_token", true),
                ],
            },
            None,
        ),
        "webchat" => (
            Kind {
                settings: &[
                    ("origins", Shape::Origins, false),
                    ("title", Shape::Text, false),
                    ("color", Shape::Color, false),
                    ("rate", Shape::Rate, false),
                ],
                secrets: &[],
            },
            None,
        ),
        "rest" => (
            Kind {
                settings: &[("rate", Shape::Rate, false)],
                secrets: &[("token", true)],
            },
            None,
        ),
        _ => return None,
    })
}

/// Reads channels.yaml; every fault is reported with its position.
pub fn parse(text: &str, d: &mut Diags) -> Vec<ChannelDef> {
    let root = match yaml::parse(text) {
        Ok(r) => r,
        Err(e) => {
            d.error(e.pos, e.message);
            return Vec::new();
        }
    };
    let Some(mut r) = MapReader::new(&root, "channels.yaml", d) else {
        return Vec::new();
    };
    let mut out: Vec<ChannelDef> = Vec::new();
    for item in r
        .take("channels")
        .and_then(Node::as_seq)
        .unwrap_or_default()
    {
        let Some(mut c) = MapReader::new(item, "a channel", d) else {
            continue;
        };
        let id = c.required_str("id", d);
        if let Some(id) = &id
            && relais_core::id::ChannelId::parse(id).is_err()
        {
            d.error(
                item.get("id").map_or(item.pos, |n| n.pos),
                format!("the channel id {id:?} must be 1 to 64 letters, digits, `-` or `_`"),
            );
        }
        let kind_name = c.required_str("kind", d);
        let spec = kind_name.as_deref().and_then(|k| {
            let s = kind(k);
            if s.is_none() {
                d.error(
                    item.get("kind").map_or(item.pos, |n| n.pos),
                    format!(
                        "unknown channel kind {k:?} (known: {})",
                        crate::CHANNEL_KINDS.join(", ")
                    ),
                );
            }
            s
        });
        let default_flow = c.optional_str("default_flow", d);
        let fallback = c.optional_str("fallback", d);
        let settings_node = c.take("settings");
        let secrets_node = c.take("secrets");
        c.finish(d);
        let (Some(id), Some(kind_name)) = (id, kind_name) else {
            continue;
        };
        let mut settings = Map::new();
        let mut secrets = Vec::new();
        if let Some((spec, ident)) = &spec {
            settings = read_settings(settings_node, item.pos, &id, spec, *ident, d);
            secrets = read_secrets(secrets_node, item.pos, &id, spec, d);
        }
        if out.iter().any(|x| x.id == id) {
            d.error(item.pos, format!("the channel {id:?} is defined twice"));
            continue;
        }
        if fallback.as_deref() == Some(id.as_str()) {
            d.error(
                item.pos,
                format!("the channel {id:?} cannot be its own fallback"),
            );
        }
        out.push(ChannelDef {
            id,
            kind: kind_name,
            default_flow,
            fallback,
            settings,
            secrets,
            pos: item.pos,
        });
    }
    r.finish(d);
    out
}

/// The entries of an optional map; anything else is an error (`why`) and no entries.
fn map_entries<'a>(
    node: Option<&'a Node>,
    why: impl FnOnce() -> String,
    d: &mut Diags,
) -> &'a [(Node, Node)] {
    match node {
        None => &[],
        Some(n) => n.as_map().unwrap_or_else(|| {
            d.error(n.pos, why());
            &[]
        }),
    }
}

fn read_settings(
    node: Option<&Node>,
    at: Pos,
    id: &str,
    spec: &Kind,
    ident: Option<&'static str>,
    d: &mut Diags,
) -> Map<String, Json> {
    let mut out = Map::new();
    let entries = map_entries(
        node,
        || format!("`settings` of the channel {id:?} must be a map"),
        d,
    );
    for (k, v) in entries {
        let key = k.as_str().unwrap_or("?");
        let shape = if Some(key) == ident {
            Some(Shape::Text)
        } else {
            spec.settings
                .iter()
                .find(|(name, _, _)| *name == key)
                .map(|(_, s, _)| *s)
        };
        let Some(shape) = shape else {
            let mut known: Vec<&str> = ident.into_iter().collect();
            known.extend(spec.settings.iter().map(|(n, _, _)| *n));
            d.error(
                k.pos,
                format!(
                    "unknown setting {key:?} for the channel {id:?} (this kind takes: {})",
                    known.join(", ")
                ),
            );
            continue;
        };
        if let Some(value) = setting_value(v, key, shape, d) {
            out.insert(key.to_owned(), value);
        }
    }
    let required = ident.into_iter().chain(
        spec.settings
            .iter()
            .filter(|(_, _, req)| *req)
            .map(|(n, _, _)| *n),
    );
    for name in required {
        if !out.contains_key(name) {
            d.error(
                node.map_or(at, |n| n.pos),
                format!("the channel {id:?} needs the setting `{name}`"),
            );
        }
    }
    out
}

/// `#rgb` or `#rrggbb`.
pub fn is_color(c: &str) -> bool {
    let hex = c.strip_prefix('#').unwrap_or("");
    matches!(hex.len(), 3 | 6) && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `local@domain`, alone or in angle brackets after a display name.
fn is_mailbox(m: &str) -> bool {
    let addr = match (m.rfind('<'), m.strip_suffix('>')) {
        (Some(i), Some(_)) => &m[i + 1..m.len() - 1],
        _ => m,
    };
    match addr.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !addr.contains(char::is_whitespace)
                && !domain.contains('@')
        }
        None => false,
    }
}

/// Where an email channel sends: `smtp://host[:port]` (STARTTLS when offered; port
/// 587 by default) or `smtps://host[:port]` (TLS at once; port 465), as
/// (host, port, implicit TLS). The ONE reading of the setting: channels.yaml's check
/// and the SMTP client both use it.
pub fn smtp_target(url: &str) -> Result<(String, u16, bool), String> {
    let (implicit, rest) = if let Some(r) = url.strip_prefix("smtps://") {
        (true, r)
    } else if let Some(r) = url.strip_prefix("smtp://") {
        (false, r)
    } else {
        return Err(format!(
            "the `smtp` setting {url:?} must start with smtp:// or smtps://"
        ));
    };
    let rest = rest.trim_end_matches('/');
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) if !h.contains(']') || h.ends_with(']') => (
            h,
            p.parse::<u16>()
                .map_err(|_| format!("the `smtp` setting {url:?} has a bad port"))?,
        ),
        _ => (rest, if implicit { 465 } else { 587 }),
    };
    let host_ok = host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'[' | b']' | b':'));
    if host.is_empty() || !host_ok {
        return Err(format!("the `smtp` setting {url:?} names no host"));
    }
    Ok((host.trim_matches(['[', ']']).to_owned(), port, implicit))
}

/// `http(s)://host[:port]`, nothing after it (a trailing `/` allowed).
fn is_origin(o: &str) -> bool {
    let Some(rest) = o
        .strip_prefix("https://")
        .or_else(|| o.strip_prefix("http://"))
    else {
        return false;
    };
    let host = rest.strip_suffix('/').unwrap_or(rest);
    !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

fn setting_value(v: &Node, key: &str, shape: Shape, d: &mut Diags) -> Option<Json> {
    match shape {
        Shape::Origins => origins_value(v, key, d),
        _ => {
            let Some(text) = v.as_str().filter(|_| !v.is_null()) else {
                d.error(
                    v.pos,
                    format!("`{key}` must be a single value, not {}", v.kind()),
                );
                return None;
            };
            single_value(v, text, key, shape, d)
        }
    }
}

/// A list of page origins (`Shape::Origins`).
fn origins_value(v: &Node, key: &str, d: &mut Diags) -> Option<Json> {
    match &v.value {
        Value::Seq(items) => {
            let texts: Vec<Json> = items
                .iter()
                .filter_map(|i| match i.as_str() {
                    Some(s) if !is_origin(s) => {
                        d.error(
                            i.pos,
                            format!("`{key}` lists page origins such as https://shop.example (scheme and host, an optional port, no path); {s:?} is not one"),
                        );
                        None
                    }
                    Some(s) if !i.is_null() => Some(Json::String(s.to_owned())),
                    _ => {
                        d.error(i.pos, format!("`{key}` must list texts"));
                        None
                    }
                })
                .collect();
            Some(Json::Array(texts))
        }
        _ => {
            d.error(v.pos, format!("`{key}` must be a list"));
            None
        }
    }
}

/// A single value (`text`, of node `v`) in its `shape`, other than a list.
fn single_value(v: &Node, text: &str, key: &str, shape: Shape, d: &mut Diags) -> Option<Json> {
    match shape {
        Shape::Url if !(text.starts_with("https://") || text.starts_with("http://")) => {
            d.error(v.pos, format!("`{key}` must be an http:// or https:// URL"));
            None
        }
        Shape::Url => Some(Json::String(text.trim_end_matches('/').to_owned())),
        Shape::Phone
            if !(text.starts_with('+')
                && (8..=15).contains(&text[1..].len())
                && text[1..].bytes().all(|b| b.is_ascii_digit())) =>
        {
            d.error(
                v.pos,
                format!("`{key}` must be a number in E.164 form, such as +33757000000"),
            );
            None
        }
        Shape::Mailbox if !is_mailbox(text) => {
            d.error(
                v.pos,
                format!("`{key}` must be an email address, such as support@acme.example or \"Acme <support@acme.example>\""),
            );
            None
        }
        Shape::Smtp if smtp_target(text).is_err() => {
            d.error(
                v.pos,
                format!("`{key}` must be smtp://host[:port] (STARTTLS when offered) or smtps://host[:port] (TLS)"),
            );
            None
        }
        Shape::Color if !is_color(text) => {
            d.error(
                v.pos,
                format!("`{key}` must be a colour as #rgb or #rrggbb"),
            );
            None
        }
        Shape::Rate => match text.parse::<f64>() {
            Ok(r) if r > 0.0 && r <= 10_000.0 => serde_json::Number::from_f64(r).map(Json::Number),
            _ => {
                d.error(
                    v.pos,
                    format!(
                        "`{key}` must be a number of messages per second above 0 (at most 10000)"
                    ),
                );
                None
            }
        },
        _ if text.trim().is_empty() => {
            d.error(v.pos, format!("`{key}` must not be empty"));
            None
        }
        _ => Some(Json::String(text.to_owned())),
    }
}

fn read_secrets(
    node: Option<&Node>,
    at: Pos,
    id: &str,
    spec: &Kind,
    d: &mut Diags,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let entries = map_entries(
        node,
        || format!("`secrets` of the channel {id:?} must be a map of role: secret name"),
        d,
    );
    for (k, v) in entries {
        let role = k.as_str().unwrap_or("?");
        if !spec.secrets.iter().any(|(r, _)| *r == role) {
            let known: Vec<&str> = spec.secrets.iter().map(|(r, _)| *r).collect();
            d.error(
                k.pos,
                if known.is_empty() {
                    format!("the channel {id:?} takes no secrets")
                } else {
                    format!(
                        "unknown secret {role:?} for the channel {id:?} (this kind takes: {})",
                        known.join(", ")
                    )
                },
            );
            continue;
        }
        match v.as_str().filter(|s| !v.is_null() && !s.trim().is_empty()) {
            Some(name) => out.push((role.to_owned(), name.to_owned())),
            None => d.error(
                v.pos,
                format!("the secret `{role}` must name a key of [secrets] in relais.toml"),
            ),
        }
    }
    for (role, required) in spec.secrets {
        if *required && !out.iter().any(|(r, _)| r == role) {
            d.error(
                node.map_or(at, |n| n.pos),
                format!(
                    "the channel {id:?} needs the secret `{role}` (the name of a [secrets] key)"
                ),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> (Vec<ChannelDef>, Vec<String>) {
        let mut d = Diags::new("channels.yaml");
        let out = parse(text, &mut d);
        (out, d.items.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn a_whatsapp_channel_reads_its_settings_and_secrets() {
        let (out, findings) = check(
            "channels:\n  - { id: wa-main, kind: whatsapp, fallback: sms-main,\n      settings: { phone_number_id: \"106540352242922\", rate: 20 },\n      secrets: { token: WA_TOKEN, app_secret: WA_APP_SECRET, verify_token: WA_VERIFY } }\n",
        );
        assert!(findings.is_empty(), "{findings:?}");
        assert_eq!(out[0].settings["phone_number_id"], "106540352242922");
        assert_eq!(out[0].settings["rate"], 20.0);
        assert_eq!(out[0].secrets.len(), 3);
    }

    #[test]
    fn sms_and_email_settings_are_checked_for_their_shape() {
        let (out, findings) = check(
            "channels:\n  - { id: sms, kind: sms, settings: { from: \"+33757000000\" }, secrets: { account: S, token: T } }\n  - { id: mail, kind: email, settings: { from: \"Acme <support@acme.example>\", smtp: \"smtps://mail.acme.example:465\" }, secrets: { inbound_token: I } }\n",
        );
        assert!(findings.is_empty(), "{findings:?}");
        assert_eq!(out[1].settings["smtp"], "smtps://mail.acme.example:465");
        let (_, findings) = check(
            "channels:\n  - id: sms\n    kind: sms\n    settings: { from: \"0757000000\" }\n    secrets: { account: S, token: T }\n  - id: mail\n    kind: email\n    settings: { from: support, smtp: \"mail.acme.example\" }\n    secrets: { inbound_token: I }\n  - { id: bare, kind: email, secrets: { inbound_token: I } }\n",
        );
        let all = findings.join("\n");
        assert!(all.contains("4:23") && all.contains("E.164"), "{all}");
        assert!(
            all.contains("8:23") && all.contains("must be an email address"),
            "{all}"
        );
        assert!(all.contains("8:38") && all.contains("smtp://host"), "{all}");
        assert!(all.contains("needs the setting `from`"), "{all}");
    }

    #[test]
    fn a_web_chat_takes_only_hex_colours_and_real_origins() {
        let (out, findings) = check(
            "channels:\n  - { id: site, kind: webchat, settings: { title: Acme, color: \"#0b6bcb\", origins: [\"https://shop.example\", \"http://localhost:3000\"] } }\n",
        );
        assert!(findings.is_empty(), "{findings:?}");
        assert_eq!(out[0].settings["color"], "#0b6bcb");
        let (_, findings) = check(
            "channels:\n  - id: site\n    kind: webchat\n    settings:\n      color: \"red;}body{display:none\"\n      origins: [\"https://shop.example/path\", \"*\"]\n",
        );
        let all = findings.join("\n");
        assert!(
            all.contains("5:14") && all.contains("#rgb or #rrggbb"),
            "{all}"
        );
        assert!(
            all.contains("6:17") && all.contains("\"https://shop.example/path\" is not one"),
            "{all}"
        );
        assert!(all.contains("\"*\" is not one"), "{all}");
    }

    #[test]
    fn every_fault_is_named_with_its_line() {
        let (_, findings) = check(
            "channels:\n  - id: wa\n    kind: whatsapp\n    settings:\n      phone_numbr_id: \"1\"\n      api_base: ftp://x\n    secrets: { token: T, app_secret: S }\n  - id: tg\n    kind: telegram\n    settings: { rate: fast }\n    secrets: { bot_token: B, webhook_secret: W, extra: X }\n",
        );
        let all = findings.join("\n");
        assert!(
            all.contains("5:7") && all.contains("unknown setting \"phone_numbr_id\""),
            "{all}"
        );
        assert!(all.contains("needs the setting `phone_number_id`"), "{all}");
        assert!(
            all.contains("6:17") && all.contains("http:// or https://"),
            "{all}"
        );
        assert!(all.contains("needs the secret `verify_token`"), "{all}");
        assert!(
            all.contains("10:23") && all.contains("messages per second"),
            "{all}"
        );
        assert!(all.contains("unknown secret \"extra\""), "{all}");
    }
}

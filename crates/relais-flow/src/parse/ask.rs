//! The `ask` step: its prompt, validators (`expect`), routes with their matchers,
//! reminders and timeout.

use super::reader::{MapReader, duration, expr, pattern, scalar, strings, target};
use super::{is_identifier, msg};
use crate::diag::Diags;
use crate::model::*;
use crate::yaml::Node;

pub(super) fn ask(n: &Node, diags: &mut Diags) -> Option<Ask> {
    if n.is_null() {
        return Some(Ask {
            prompt: None,
            save: None,
            mask: Vec::new(),
            expect: None,
            routes: Vec::new(),
            invalid: None,
            otherwise: None,
            timeout: None,
            reminders: Vec::new(),
            on_timeout: None,
        });
    }
    let mut r = MapReader::new(n, "`ask`", diags)?;
    let prompt = r.take("prompt").and_then(|p| msg(p, "prompt", diags));
    let save = r.optional_str("save", diags);
    let mask = r.take("mask").map(|m| mask(m, diags)).unwrap_or_default();
    let expect = r.take("expect").and_then(|e| expect(e, diags));
    let routes = r
        .take("routes")
        .map(|x| routes(x, diags))
        .unwrap_or_default();
    let invalid = r.take("invalid").and_then(|m| msg(m, "invalid", diags));
    let otherwise = r.take("else").and_then(|t| target(t, "else", diags));
    let timeout = r
        .take("timeout")
        .and_then(|d| duration(d, "timeout", diags));
    let reminders = r
        .take("reminders")
        .map(|x| reminders(x, diags))
        .unwrap_or_default();
    let on_timeout = r
        .take("on_timeout")
        .and_then(|t| target(t, "on_timeout", diags));
    r.finish(diags);
    if let Some(v) = &save
        && !is_identifier(v)
    {
        diags.error(
            n.get("save").map_or(n.pos, |s| s.pos),
            format!("`save: {v}` must be a variable name (letters, digits, _)"),
        );
    }
    if on_timeout.is_some() && timeout.is_none() {
        diags.error(n.pos, "`on_timeout` needs a `timeout`");
    }
    Some(Ask {
        prompt,
        save,
        mask,
        expect,
        routes,
        invalid,
        otherwise,
        timeout,
        reminders,
        on_timeout,
    })
}

/// `mask: [card, iban]`: what the reply loses before it is kept.
fn mask(n: &Node, diags: &mut Diags) -> Vec<relais_core::privacy::Kind> {
    use relais_core::privacy::Kind;
    let mut out = Vec::new();
    for name in strings(n, "mask", diags) {
        match Kind::parse(&name).filter(|k| Kind::MASKABLE.contains(k)) {
            Some(k) if !out.contains(&k) => out.push(k),
            Some(_) => {}
            None => diags.error(n.pos, format!("`mask: {name}` is not one of card, iban")),
        }
    }
    out
}

fn expect(n: &Node, diags: &mut Diags) -> Option<Expect> {
    let mut r = MapReader::new(n, "`expect`", diags)?;
    let invalid = r.take("invalid").and_then(|m| msg(m, "invalid", diags));
    let kinds = [
        "regex", "text", "number", "email", "phone", "date", "yes_no",
    ];
    let present: Vec<&str> = kinds.iter().copied().filter(|k| r.has(k)).collect();
    let validator = match present.as_slice() {
        [one] => {
            let v = r.take(one)?;
            match *one {
                "regex" => Some(Validator::Regex(pattern(v, "expect.regex", diags)?)),
                k => {
                    if v.as_map().is_none() && !v.is_null() {
                        diags.error(
                            v.pos,
                            format!("`expect.{k}` takes an options map (`{{}}` for none)"),
                        );
                    }
                    Some(match k {
                        "text" => Validator::Text,
                        "number" => Validator::Number,
                        "email" => Validator::Email,
                        "phone" => Validator::Phone,
                        "date" => Validator::Date,
                        _ => Validator::YesNo,
                    })
                }
            }
        }
        [] => {
            diags.error(
                n.pos,
                format!("`expect` needs one validator: {}", kinds.join(", ")),
            );
            None
        }
        many => {
            diags.error(
                n.pos,
                format!(
                    "`expect` has {} validators ({}); give one",
                    many.len(),
                    many.join(", ")
                ),
            );
            None
        }
    };
    for k in kinds {
        r.take(k);
    }
    r.finish(diags);
    Some(Expect {
        validator: validator?,
        invalid,
    })
}

fn routes(n: &Node, diags: &mut Diags) -> Vec<Route> {
    let Some(items) = n.as_seq() else {
        diags.error(n.pos, format!("`routes` must be a list, not {}", n.kind()));
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in items {
        let Some(mut r) = MapReader::new(item, "a route", diags) else {
            continue;
        };
        let next = r
            .required("next", diags)
            .and_then(|t| target(t, "next", diags));
        let when = r.take("when");
        let m = r.take("match");
        r.finish(diags);
        let matcher = match (m, when) {
            (Some(m), None) => matcher(m, diags),
            (None, Some(w)) => expr(w, "when", diags).map(Matcher::When),
            (Some(_), Some(_)) => {
                diags.error(item.pos, "a route has either `match` or `when`, not both");
                None
            }
            (None, None) => {
                diags.error(
                    item.pos,
                    "a route needs `match` (keywords, regex, intent, button or when)",
                );
                None
            }
        };
        if let (Some(matcher), Some(next)) = (matcher, next) {
            out.push(Route {
                matcher,
                next,
                pos: item.pos,
            });
        }
    }
    out
}

fn matcher(n: &Node, diags: &mut Diags) -> Option<Matcher> {
    let mut r = MapReader::new(n, "`match`", diags)?;
    let kinds = ["keywords", "regex", "intent", "button", "when"];
    let present: Vec<&str> = kinds.iter().copied().filter(|k| r.has(k)).collect();
    let out = match present.as_slice() {
        [one] => {
            let v = r.take(one)?;
            match *one {
                "keywords" => {
                    let words = strings(v, "keywords", diags);
                    if words.is_empty() {
                        diags.error(v.pos, "`keywords` is empty");
                    }
                    Some(Matcher::Keywords(words))
                }
                "regex" => pattern(v, "match.regex", diags).map(Matcher::Regex),
                "intent" => scalar(v, "intent", diags).map(Matcher::Intent),
                "button" => Some(Matcher::Button(strings(v, "button", diags))),
                _ => expr(v, "when", diags).map(Matcher::When),
            }
        }
        [] => {
            diags.error(n.pos, format!("`match` needs one of {}", kinds.join(", ")));
            None
        }
        many => {
            diags.error(
                n.pos,
                format!(
                    "`match` has {} kinds ({}); a route matches one way",
                    many.len(),
                    many.join(", ")
                ),
            );
            None
        }
    };
    for k in kinds {
        r.take(k);
    }
    r.finish(diags);
    out
}

fn reminders(n: &Node, diags: &mut Diags) -> Vec<Reminder> {
    let Some(items) = n.as_seq() else {
        diags.error(
            n.pos,
            format!("`reminders` must be a list, not {}", n.kind()),
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in items {
        let Some(mut r) = MapReader::new(item, "a reminder", diags) else {
            continue;
        };
        let after = r
            .required("after", diags)
            .and_then(|d| duration(d, "after", diags));
        let say = r.required("say", diags).and_then(|m| msg(m, "say", diags));
        r.finish(diags);
        if let (Some(after), Some(say)) = (after, say) {
            out.push(Reminder { after, say });
        }
    }
    out
}

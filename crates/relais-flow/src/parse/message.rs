//! Messages: plain text, text per language, or `{text, buttons, list, media}`, and their
//! buttons.

use super::reader::{MapReader, tpl};
use crate::diag::Diags;
use crate::model::*;
use crate::yaml::{Node, Value};

/// A message: a string, a map of language → string, or `{text, buttons, list, media}`.
pub(crate) fn msg(n: &Node, what: &str, diags: &mut Diags) -> Option<Msg> {
    let plain = |text| Msg {
        text,
        buttons: Vec::new(),
        list: Vec::new(),
        media: None,
        pos: n.pos,
    };
    match &n.value {
        Value::Scalar { .. } => tpl(n, what, diags).map(|t| plain(Text::One(t))),
        Value::Seq(_) => {
            diags.error(n.pos, format!("`{what}` must be text, a map of language to text, or {{text, buttons}}; not a list"));
            None
        }
        Value::Map(_) => {
            let is_full = ["text", "buttons", "list", "media"]
                .iter()
                .any(|k| n.get(k).is_some());
            if !is_full {
                return per_language(n, what, diags).map(plain);
            }
            let label = format!("the message `{what}`");
            let mut r = MapReader::new(n, &label, diags)?;
            let text = r.required("text", diags).and_then(|t| text(t, what, diags));
            let list = r
                .take("list")
                .map(|b| buttons(b, diags))
                .unwrap_or_default();
            let buttons = r
                .take("buttons")
                .map(|b| buttons(b, diags))
                .unwrap_or_default();
            let media = r.take("media").and_then(|m| tpl(m, "media", diags));
            r.finish(diags);
            if buttons.len() > 10 {
                diags.error(
                    n.pos,
                    format!(
                        "the message `{what}` has {} buttons; at most 10",
                        buttons.len()
                    ),
                );
            }
            Some(Msg {
                text: text?,
                buttons,
                list,
                media,
                pos: n.pos,
            })
        }
    }
}

fn text(n: &Node, what: &str, diags: &mut Diags) -> Option<Text> {
    match &n.value {
        Value::Map(_) => per_language(n, what, diags),
        _ => tpl(n, what, diags).map(Text::One),
    }
}

fn per_language(n: &Node, what: &str, diags: &mut Diags) -> Option<Text> {
    let mut out = Vec::new();
    for (k, v) in n.as_map().unwrap_or_default() {
        let Some(lang) = k.as_str() else { continue };
        if !(lang.len() == 2 && lang.chars().all(|c| c.is_ascii_lowercase())) {
            diags.error(
                k.pos,
                format!("{lang:?} in `{what}` is not a two-letter language code (fr, en, it…)"),
            );
            continue;
        }
        if let Some(t) = tpl(v, what, diags) {
            out.push((lang.to_owned(), t));
        }
    }
    if out.is_empty() {
        diags.error(n.pos, format!("`{what}` has no text"));
        return None;
    }
    Some(Text::PerLanguage(out))
}

fn buttons(n: &Node, diags: &mut Diags) -> Vec<Button> {
    let Some(items) = n.as_seq() else {
        diags.error(n.pos, format!("`buttons` must be a list, not {}", n.kind()));
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in items {
        match &item.value {
            Value::Scalar { .. } => {
                if let Some(t) = tpl(item, "buttons", diags) {
                    out.push(Button {
                        id: t.source.clone(),
                        title: Text::One(t),
                    });
                }
            }
            Value::Map(_) => {
                let Some(mut r) = MapReader::new(item, "a button", diags) else {
                    continue;
                };
                let id = r.required_str("id", diags);
                let title = r.take("title").and_then(|t| text(t, "title", diags));
                r.finish(diags);
                if let Some(id) = id {
                    let title = title.unwrap_or_else(|| {
                        Text::One(Tpl {
                            source: id.clone(),
                            pos: item.pos,
                        })
                    });
                    out.push(Button { id, title });
                }
            }
            Value::Seq(_) => diags.error(item.pos, "a button must be text or {id, title}"),
        }
    }
    out
}

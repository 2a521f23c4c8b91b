//! What an outbound message carries besides its text, for channels that can show it:
//! the choices behind its buttons (ids and titles), shown as a list or as buttons, a
//! media attachment, and the template it was sent as. Channels that cannot show a part
//! degrade it (numbered text, a link); the text alone always reads whole.

use serde::{Deserialize, Serialize};

/// One button or list row: `id` comes back when the customer taps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub id: String,
    pub title: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    Image,
    Document,
    Video,
    Audio,
}

impl MediaKind {
    /// Guessed from the URL's extension; a document when unknown.
    pub fn from_url(url: &str) -> MediaKind {
        let path = url
            .split(['?', '#'])
            .next()
            .unwrap_or(url)
            .to_ascii_lowercase();
        let ext = path.rsplit('.').next().unwrap_or("");
        match ext {
            "jpg" | "jpeg" | "png" | "webp" | "gif" => MediaKind::Image,
            "mp4" | "3gp" | "mov" => MediaKind::Video,
            "mp3" | "ogg" | "opus" | "aac" | "amr" | "m4a" => MediaKind::Audio,
            _ => MediaKind::Document,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Document => "document",
            MediaKind::Video => "video",
            MediaKind::Audio => "audio",
        }
    }
}

/// A file sent by URL (flows' `media`, agents' attachments).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Media {
    pub kind: MediaKind,
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
}

/// A registered template as sent: WhatsApp needs its name, language and parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateRef {
    pub name: String,
    pub language: String,
    #[serde(default)]
    pub params: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Rich {
    /// The buttons' ids and titles, in order (the message's `buttons` are the titles).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<Choice>,
    /// The choices are list rows, not buttons.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub list: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<Media>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<TemplateRef>,
}

impl Rich {
    pub fn is_empty(&self) -> bool {
        self == &Rich::default()
    }

    /// The id behind a button title, or the title itself for a message without ids.
    pub fn choice_id<'a>(&'a self, title: &'a str) -> &'a str {
        self.choices
            .iter()
            .find(|c| c.title == title)
            .map_or(title, |c| c.id.as_str())
    }
}

/// How a channel shows a message's choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    Buttons,
    List,
    /// Beyond the channel's limits (or a channel without buttons): [`numbered`] text.
    Numbered,
}

/// The providers' documented limits (SPEC §6), one rule for the adapters and for
/// `relais test`: WhatsApp reply buttons ≤ 3 with titles ≤ 20 characters and a body
/// ≤ 1024, lists ≤ 10 rows of ≤ 24; Messenger and Instagram ≤ 13 quick replies of
/// ≤ 20; Telegram `callback_data` 1–64 bytes; SMS and email have no buttons.
pub fn shown(kind: &str, text: &str, rich: &Rich, titles: &[String]) -> Shown {
    let fits = |max: usize| titles.iter().all(|t| t.chars().count() <= max);
    match kind {
        _ if titles.is_empty() || rich.template.is_some() => Shown::Buttons,
        "whatsapp" if rich.media.is_some() || text.chars().count() > 1024 => Shown::Numbered,
        "whatsapp" if !rich.list && titles.len() <= 3 && fits(20) => Shown::Buttons,
        "whatsapp" if titles.len() <= 10 && fits(24) => Shown::List,
        "messenger" | "instagram" if titles.len() <= 13 && fits(20) => Shown::Buttons,
        "telegram"
            if titles
                .iter()
                .all(|t| (1..=64).contains(&rich.choice_id(t).len())) =>
        {
            Shown::Buttons
        }
        "whatsapp" | "messenger" | "instagram" | "telegram" | "sms" | "email" => Shown::Numbered,
        _ => Shown::Buttons,
    }
}

/// The text with the choices as a numbered list, for channels that cannot show them
/// as buttons (or more of them than the channel allows). A reply "2" means the second.
pub fn numbered(text: &str, titles: &[String]) -> String {
    let mut out = text.to_owned();
    for (i, t) in titles.iter().enumerate() {
        out.push_str(if i == 0 && !out.is_empty() {
            "\n\n"
        } else {
            "\n"
        });
        out.push_str(&format!("{}. {t}", i + 1));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_kind_follows_the_extension() {
        assert_eq!(
            MediaKind::from_url("https://x/a.JPG?sig=1"),
            MediaKind::Image
        );
        assert_eq!(
            MediaKind::from_url("https://x/invoice.pdf"),
            MediaKind::Document
        );
        assert_eq!(MediaKind::from_url("https://x/clip.mp4"), MediaKind::Video);
        assert_eq!(MediaKind::from_url("https://x/noext"), MediaKind::Document);
    }

    #[test]
    fn numbered_lists_every_choice() {
        assert_eq!(
            numbered("Pick one", &["Yes".into(), "No".into()]),
            "Pick one\n\n1. Yes\n2. No"
        );
        assert_eq!(numbered("Hi", &[]), "Hi");
    }

    #[test]
    fn each_channel_shows_choices_within_its_limits() {
        let t = |n: usize, len: usize| -> Vec<String> {
            (0..n).map(|i| format!("{i:0>len$}")).collect()
        };
        let plain = Rich::default();
        let listed = Rich {
            list: true,
            ..Rich::default()
        };
        let cases: &[(&str, Vec<String>, &Rich, Shown)] = &[
            ("whatsapp", t(3, 20), &plain, Shown::Buttons),
            ("whatsapp", t(3, 21), &plain, Shown::List),
            ("whatsapp", t(4, 5), &plain, Shown::List),
            ("whatsapp", t(2, 5), &listed, Shown::List),
            ("whatsapp", t(11, 5), &plain, Shown::Numbered),
            ("whatsapp", t(10, 25), &plain, Shown::Numbered),
            ("messenger", t(13, 20), &plain, Shown::Buttons),
            ("instagram", t(14, 5), &plain, Shown::Numbered),
            ("telegram", t(30, 64), &plain, Shown::Buttons),
            ("telegram", t(1, 65), &plain, Shown::Numbered),
            ("sms", t(1, 3), &plain, Shown::Numbered),
            ("webchat", t(30, 80), &plain, Shown::Buttons),
            ("rest", t(30, 80), &plain, Shown::Buttons),
        ];
        for (kind, titles, rich, want) in cases {
            assert_eq!(
                shown(kind, "Pick", rich, titles),
                *want,
                "{kind} {} titles",
                titles.len()
            );
        }
        let media = Rich {
            media: Some(Media {
                kind: MediaKind::Image,
                url: "https://x/y.jpg".into(),
                filename: None,
            }),
            ..Rich::default()
        };
        assert_eq!(shown("whatsapp", "Pick", &media, &t(2, 3)), Shown::Numbered);
        assert_eq!(
            shown("whatsapp", &"x".repeat(1025), &plain, &t(2, 3)),
            Shown::Numbered
        );
    }

    #[test]
    fn an_empty_rich_part_serialises_to_nothing() {
        assert_eq!(serde_json::to_string(&Rich::default()).unwrap(), "{}");
        let r: Rich = serde_json::from_str("{}").unwrap();
        assert!(r.is_empty());
    }
}

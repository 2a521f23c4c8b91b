//! The customer-service window of WhatsApp, Messenger and Instagram (SPEC §6): free
//! text only within 24 hours of the contact's last message on that channel; outside
//! it, a template (WhatsApp), a human agent's reply with the `HUMAN_AGENT` tag for 7
//! days (Messenger, Instagram), the channel's fallback, or nothing — recorded as
//! undeliverable with the reason. Pure: the store and the runtime give the facts.

use crate::{Duration, Timestamp};

pub const WINDOW: Duration = Duration(24 * 3_600_000);
/// Messenger and Instagram: how long a human agent may still answer (`HUMAN_AGENT`).
pub const HUMAN_AGENT_WINDOW: Duration = Duration(7 * 24 * 3_600_000);
pub const HUMAN_AGENT_TAG: &str = "HUMAN_AGENT";

/// Whether a channel kind has a customer-service window.
pub fn applies(kind: &str) -> bool {
    matches!(kind, "whatsapp" | "messenger" | "instagram")
}

/// When the window closes: 24 h after the contact's last message; `None` when the
/// kind has no window or the contact never wrote.
pub fn closes_at(kind: &str, last_inbound: Option<Timestamp>) -> Option<Timestamp> {
    applies(kind).then_some(last_inbound?.plus(WINDOW))
}

/// What a message may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outgoing {
    /// Sent as a registered template.
    pub template: bool,
    /// Written by a human agent.
    pub by_agent: bool,
}

/// How a message can reach the contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Carry {
    Send,
    /// Sent with this message tag (Messenger/Instagram `HUMAN_AGENT`).
    Tagged(&'static str),
    /// Not on this channel: the fallback channel takes it, if there is one.
    Closed {
        reason: String,
    },
}

pub fn carry(kind: &str, last_inbound: Option<Timestamp>, now: Timestamp, m: Outgoing) -> Carry {
    if !applies(kind) {
        return Carry::Send;
    }
    let since = last_inbound.map(|t| now.0 - t.0);
    if since.is_some_and(|s| s < WINDOW.0) {
        return Carry::Send;
    }
    if kind == "whatsapp" && m.template {
        return Carry::Send;
    }
    if kind != "whatsapp" && m.by_agent && since.is_some_and(|s| s < HUMAN_AGENT_WINDOW.0) {
        return Carry::Tagged(HUMAN_AGENT_TAG);
    }
    let what = match kind {
        "whatsapp" => "WhatsApp",
        "messenger" => "Messenger",
        _ => "Instagram",
    };
    let reason = match (last_inbound, kind) {
        (None, "whatsapp") => format!(
            "the contact has never written on this {what} channel: only a template can start the conversation"
        ),
        (None, _) => format!("the contact has never written on this {what} channel"),
        (Some(_), "whatsapp") => format!(
            "outside {what}'s 24-hour window (the contact's last message is over 24 h old): only a template can be sent"
        ),
        (Some(_), _) if m.by_agent => {
            format!("outside {what}'s window: the contact's last message is over 7 days old")
        }
        (Some(_), _) => {
            format!("outside {what}'s 24-hour window (the contact's last message is over 24 h old)")
        }
    };
    Carry::Closed { reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;
    const TEXT: Outgoing = Outgoing {
        template: false,
        by_agent: false,
    };
    const TEMPLATE: Outgoing = Outgoing {
        template: true,
        by_agent: false,
    };
    const AGENT: Outgoing = Outgoing {
        template: false,
        by_agent: true,
    };

    #[test]
    fn the_window_rules_table() {
        let last = Some(Timestamp(0));
        let at = |h: i64| Timestamp(h * H);
        let cases: &[(&str, Option<Timestamp>, i64, Outgoing, &str)] = &[
            ("rest", None, 1000, TEXT, "send"),
            ("telegram", last, 1000, TEXT, "send"),
            ("whatsapp", last, 23, TEXT, "send"),
            ("whatsapp", last, 24, TEXT, "closed"),
            ("whatsapp", last, 24, AGENT, "closed"),
            ("whatsapp", last, 500, TEMPLATE, "send"),
            ("whatsapp", None, 0, TEXT, "closed"),
            ("whatsapp", None, 0, TEMPLATE, "send"),
            ("messenger", last, 23, TEXT, "send"),
            ("messenger", last, 25, TEXT, "closed"),
            ("messenger", last, 25, AGENT, "tagged"),
            ("instagram", last, 167, AGENT, "tagged"),
            ("instagram", last, 168, AGENT, "closed"),
            ("messenger", last, 25, TEMPLATE, "closed"),
        ];
        for (kind, last, hours, m, want) in cases {
            let got = match carry(kind, *last, at(*hours), *m) {
                Carry::Send => "send",
                Carry::Tagged(t) => {
                    assert_eq!(t, HUMAN_AGENT_TAG);
                    "tagged"
                }
                Carry::Closed { .. } => "closed",
            };
            assert_eq!(got, *want, "{kind} after {hours} h, {m:?}");
        }
    }

    #[test]
    fn the_reason_names_the_window() {
        let Carry::Closed { reason } =
            carry("whatsapp", Some(Timestamp(0)), Timestamp(25 * H), TEXT)
        else {
            panic!()
        };
        assert!(
            reason.contains("24-hour window") && reason.contains("template"),
            "{reason}"
        );
        assert_eq!(
            closes_at("whatsapp", Some(Timestamp(0))),
            Some(Timestamp(24 * H))
        );
        assert_eq!(closes_at("telegram", Some(Timestamp(0))), None);
    }
}

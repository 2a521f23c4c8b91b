//! The human half of the ticket lifecycle (SPEC §2), pure: its settings, the names of
//! its durable timers, what the customer is told (inactivity reminder, satisfaction
//! survey) in their language, and reading a survey answer.

use crate::ticket::Status;
use crate::time::Duration;

/// Timer: the customer has not answered the agent for `remind_after`.
pub const TIMER_REMIND: &str = "ticket.remind";
/// Timer: the customer has not answered the agent for `close_after`.
pub const TIMER_INACTIVE: &str = "ticket.inactive";
/// Timer: a solved conversation closes.
pub const TIMER_AUTO_CLOSE: &str = "ticket.auto_close";
/// Timer: the assignee has not answered the customer within `return_after`.
pub const TIMER_RETURN: &str = "ticket.return";

/// Timer: the assignee has been away for `away_limit`.
pub const TIMER_AWAY: &str = "ticket.away";

/// True for the timers this module owns (the bot never sees them).
pub fn is_lifecycle_timer(name: &str) -> bool {
    name.starts_with("ticket.")
}

/// Lifecycle settings (`[inactivity]` and `[handoff]` in `relais.toml`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lifecycle {
    /// Ask a silent customer whether they still need help.
    pub remind_after: Duration,
    /// Then stop waiting: the conversation becomes `close_status`.
    pub close_after: Duration,
    /// `Solved` (marked auto-solved, no survey) or `Pending`.
    pub close_status: Status,
    /// `solved` becomes `closed` after this.
    pub auto_close: Duration,
    /// A conversation whose assignee has not answered within this goes back to the queue.
    pub return_after: Option<Duration>,
    /// An agent away for longer than this has their conversations returned to the queue.
    pub away_limit: Option<Duration>,
    /// Agents going offline give their open conversations back to the queue.
    pub return_on_offline: bool,
    /// An online agent with no activity for this long becomes away.
    pub idle_after: Option<Duration>,
    /// Send the satisfaction survey when an agent solves.
    pub csat: bool,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Lifecycle {
            remind_after: Duration::minutes(10),
            close_after: Duration::minutes(30),
            close_status: Status::Solved,
            auto_close: Duration::days(4),
            return_after: Some(Duration::minutes(15)),
            away_limit: Some(Duration::minutes(15)),
            return_on_offline: true,
            idle_after: Some(Duration::minutes(30)),
            csat: true,
        }
    }
}

/// Relais's words to customers about their ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Say {
    StillThere,
    CsatQuestion,
    CsatThanks,
}

/// The text in `language`, else English.
pub fn text(s: Say, language: &str) -> &'static str {
    match (s, language) {
        (Say::StillThere, "fr") => {
            "Avez-vous toujours besoin d'aide ? Répondez simplement à ce message et nous continuons."
        }
        (Say::StillThere, "it") => {
            "Ha ancora bisogno di aiuto? Risponda a questo messaggio e continuiamo."
        }
        (Say::StillThere, "es") => "¿Sigue necesitando ayuda? Responda a este mensaje y seguimos.",
        (Say::StillThere, "de") => {
            "Brauchen Sie noch Hilfe? Antworten Sie einfach auf diese Nachricht."
        }
        (Say::StillThere, _) => {
            "Do you still need help? Just reply to this message and we will carry on."
        }
        (Say::CsatQuestion, "fr") => {
            "Comment évaluez-vous l'aide reçue, de 1 (mauvaise) à 5 (excellente) ?"
        }
        (Say::CsatQuestion, "it") => {
            "Come valuta l'assistenza ricevuta, da 1 (pessima) a 5 (ottima)?"
        }
        (Say::CsatQuestion, "es") => "¿Cómo valora la ayuda recibida, de 1 (mala) a 5 (excelente)?",
        (Say::CsatQuestion, "de") => {
            "Wie bewerten Sie unsere Hilfe, von 1 (schlecht) bis 5 (ausgezeichnet)?"
        }
        (Say::CsatQuestion, _) => {
            "How would you rate the help you got, from 1 (poor) to 5 (excellent)?"
        }
        (Say::CsatThanks, "fr") => "Merci pour votre réponse !",
        (Say::CsatThanks, "it") => "Grazie per la sua risposta!",
        (Say::CsatThanks, "es") => "¡Gracias por su respuesta!",
        (Say::CsatThanks, "de") => "Danke für Ihre Antwort!",
        (Say::CsatThanks, _) => "Thank you for your answer!",
    }
}

/// A survey answer: a lone digit 1–5 (`4`, `4/5`, `4 !`) or one to five stars.
pub fn parse_csat(text: &str) -> Option<u8> {
    let t = text.trim();
    let stars = t.chars().filter(|c| *c == '⭐' || *c == '★').count();
    if stars > 0
        && t.chars()
            .all(|c| c == '⭐' || c == '★' || c.is_whitespace())
    {
        return u8::try_from(stars).ok().filter(|n| (1..=5).contains(n));
    }
    let digits: Vec<char> = t.chars().filter(char::is_ascii_digit).collect();
    let rest_ok = t
        .chars()
        .all(|c| c.is_ascii_digit() || c.is_whitespace() || matches!(c, '/' | '!' | '.'));
    match digits.as_slice() {
        [d] if rest_ok => d
            .to_digit(10)
            .and_then(|n| u8::try_from(n).ok())
            .filter(|n| (1..=5).contains(n)),
        [d, '5'] if rest_ok && t.contains('/') => d
            .to_digit(10)
            .and_then(|n| u8::try_from(n).ok())
            .filter(|n| (1..=5).contains(n)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survey_answers_are_a_score_from_one_to_five() {
        for (t, want) in [
            ("5", Some(5)),
            (" 4 ", Some(4)),
            ("3/5", Some(3)),
            ("1!", Some(1)),
            ("⭐⭐⭐⭐", Some(4)),
            ("0", None),
            ("6", None),
            ("12", None),
            ("5 stars please call me", None),
            ("A123", None),
            ("", None),
        ] {
            assert_eq!(parse_csat(t), want, "{t:?}");
        }
    }

    #[test]
    fn every_text_exists_in_five_languages() {
        for s in [Say::StillThere, Say::CsatQuestion, Say::CsatThanks] {
            let en = text(s, "en");
            for l in ["fr", "it", "es", "de"] {
                assert_ne!(text(s, l), en, "{s:?} in {l}");
            }
        }
        assert!(is_lifecycle_timer(TIMER_RETURN) && !is_lifecycle_timer("flow.timeout"));
    }
}

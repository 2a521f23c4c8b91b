//! Opting out and back in by message (SPEC §6, §11): a message that is exactly STOP,
//! ARRET, ARRÊT, BASTA or UNSUBSCRIBE (any case, surrounding spaces and a final `.` or
//! `!` ignored) opts the contact out of proactive messages on that channel kind at
//! once; START opts back in. The flow does not run on such a message; the contact gets
//! a confirmation in their language.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyword {
    OptOut,
    OptIn,
}

/// The keyword a whole message is, and the language it implies, if any.
pub fn keyword(text: &str) -> Option<(Keyword, Option<&'static str>)> {
    let t = text
        .trim()
        .trim_end_matches(['.', '!'])
        .trim()
        .to_lowercase();
    Some(match t.as_str() {
        "stop" => (Keyword::OptOut, None),
        "unsubscribe" => (Keyword::OptOut, Some("en")),
        "arret" | "arrêt" => (Keyword::OptOut, Some("fr")),
        "basta" => (Keyword::OptOut, Some("it")),
        "start" => (Keyword::OptIn, None),
        _ => return None,
    })
}

/// The confirmation, in `language` (fr, en, it, es, de; English otherwise).
pub fn confirmation(k: Keyword, language: &str) -> &'static str {
    match (k, language) {
        (Keyword::OptOut, "fr") => {
            "C'est noté : vous ne recevrez plus de messages de notre part sur ce canal. Répondez START pour vous réabonner."
        }
        (Keyword::OptOut, "it") => {
            "Ricevuto: non riceverà più nostri messaggi su questo canale. Risponda START per riattivarli."
        }
        (Keyword::OptOut, "es") => {
            "Entendido: ya no recibirá mensajes nuestros por este canal. Responda START para volver a recibirlos."
        }
        (Keyword::OptOut, "de") => {
            "Verstanden: Sie erhalten über diesen Kanal keine Nachrichten mehr von uns. Antworten Sie START, um sie wieder zu erhalten."
        }
        (Keyword::OptOut, _) => {
            "Done: you will no longer receive messages from us on this channel. Reply START to opt back in."
        }
        (Keyword::OptIn, "fr") => "C'est noté : vous recevrez à nouveau nos messages sur ce canal.",
        (Keyword::OptIn, "it") => "Ricevuto: riceverà di nuovo i nostri messaggi su questo canale.",
        (Keyword::OptIn, "es") => "Entendido: volverá a recibir nuestros mensajes por este canal.",
        (Keyword::OptIn, "de") => {
            "Verstanden: Sie erhalten über diesen Kanal wieder Nachrichten von uns."
        }
        (Keyword::OptIn, _) => "Done: you will receive our messages on this channel again.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_whole_message_counts_in_any_case() {
        for t in [
            "STOP",
            "stop",
            " Stop. ",
            "ARRET",
            "Arrêt",
            "ARRÊT!",
            "basta",
            "UNSUBSCRIBE",
        ] {
            assert_eq!(keyword(t).map(|k| k.0), Some(Keyword::OptOut), "{t:?}");
        }
        assert_eq!(keyword("START").map(|k| k.0), Some(Keyword::OptIn));
        for t in ["stop sending me ads", "please stop", "restart", "", "stopp"] {
            assert_eq!(keyword(t), None, "{t:?}");
        }
        assert_eq!(keyword("ARRÊT").unwrap().1, Some("fr"));
    }

    #[test]
    fn the_confirmation_speaks_the_contacts_language() {
        assert!(confirmation(Keyword::OptOut, "fr").contains("START"));
        assert!(confirmation(Keyword::OptOut, "xx").starts_with("Done"));
        assert!(confirmation(Keyword::OptIn, "de").contains("wieder"));
    }
}

//! Escalation triggers (SPEC §4), checked on every customer message while the bot runs,
//! before the flow's routes: `keyword`, then `vip`, then `sensitive`, then `sentiment`;
//! the first that fires is the reason recorded. Pure functions over the message text.

use crate::model::TriggerSwitches;
use crate::sentiment;
use crate::text::Words;

/// What `vip_action` does with contacts of a VIP tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VipAction {
    /// Hand over at once with priority `high`, skipping the bot.
    Escalate,
    /// Raise the priority of any handoff to `high`.
    Priority,
}

/// The workspace's `[escalation]` settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Escalation {
    pub max_failures: u32,
    pub vip_tiers: Vec<String>,
    pub vip_action: VipAction,
    pub default_team: Option<String>,
    pub sensitive_intents: Vec<String>,
    pub sensitive_keywords: Vec<String>,
    pub sentiment_threshold: f32,
    /// The sentence-encoder frustration model joins the lexicon (`[escalation]
    /// frustration_model`, on by default).
    pub frustration_model: bool,
    /// Phrases by language; every language's list is checked.
    pub keywords: Vec<(String, Vec<String>)>,
}

impl Default for Escalation {
    fn default() -> Self {
        Escalation {
            max_failures: 3,
            vip_tiers: vec!["vip".into()],
            vip_action: VipAction::Priority,
            default_team: None,
            sensitive_intents: Vec::new(),
            sensitive_keywords: Vec::new(),
            sentiment_threshold: -0.5,
            frustration_model: true,
            keywords: default_keywords(),
        }
    }
}

/// The built-in "I want a human" phrases, replaced as a whole by `[escalation.keywords]`.
pub fn default_keywords() -> Vec<(String, Vec<String>)> {
    let lists: [(&str, &[&str]); 5] = [
        (
            "fr",
            &[
                "humain",
                "agent",
                "conseiller",
                "conseillere",
                "operateur",
                "remboursement",
                "parler a quelqu un",
                "une vraie personne",
            ],
        ),
        (
            "en",
            &[
                "human",
                "agent",
                "representative",
                "real person",
                "refund",
                "talk to someone",
                "speak to someone",
                "customer service",
            ],
        ),
        (
            "it",
            &[
                "operatore",
                "umano",
                "agente",
                "rimborso",
                "persona vera",
                "parlare con qualcuno",
            ],
        ),
        (
            "es",
            &[
                "humano",
                "agente",
                "operador",
                "reembolso",
                "persona real",
                "hablar con alguien",
            ],
        ),
        (
            "de",
            &[
                "mensch",
                "mitarbeiter",
                "kundendienst",
                "erstattung",
                "ruckerstattung",
                "echte person",
            ],
        ),
    ];
    lists
        .iter()
        .map(|(l, w)| ((*l).to_owned(), w.iter().map(|s| (*s).to_owned()).collect()))
        .collect()
}

/// Messages shorter than this (in words) are left to the lexicon.
pub const MODEL_MIN_WORDS: usize = 3;

/// Why a trigger fired, with what it saw (for the event log).
#[derive(Debug, Clone, PartialEq)]
pub struct Fired {
    /// `keyword`, `vip`, `sensitive` or `sentiment`.
    pub reason: &'static str,
    pub detail: String,
}

/// The contact facts the triggers look at.
pub struct Subject<'a> {
    pub tier: &'a str,
    pub text: &'a str,
    /// Button replies skip the triggers.
    pub is_button: bool,
    /// Intent recognised for the message, if any (for `sensitive_intents`).
    pub intent: Option<&'a str>,
    /// The frustration model's score for the message given the lexicon's view of it
    /// (asked only when the lexicon alone does not fire); `None` without a model.
    pub frustration: &'a dyn Fn(&sentiment::Sentiment) -> Option<f32>,
}

impl Escalation {
    pub fn is_vip(&self, tier: &str) -> bool {
        self.vip_tiers.iter().any(|t| t == tier)
    }

    /// Whether [`Escalation::check`] would ask the frustration model about this text
    /// (for a contact of no VIP tier, no intent known): the same rule, run with a model
    /// that only notes it was asked. The runtime encodes a message ahead of the step
    /// only then.
    pub fn reads_model(&self, text: &str, on: TriggerSwitches) -> bool {
        let asked = std::cell::Cell::new(false);
        let note = |_: &sentiment::Sentiment| {
            asked.set(true);
            None
        };
        let s = Subject {
            tier: "",
            text,
            is_button: false,
            intent: None,
            frustration: &note,
        };
        let _ = self.check(&s, on);
        asked.get()
    }

    /// The first trigger that fires on a message, in the order of SPEC §4.
    pub fn check(&self, s: &Subject<'_>, on: TriggerSwitches) -> Option<Fired> {
        if s.is_button {
            return None;
        }
        let words = Words::new(s.text);
        if on.keyword {
            for (_, list) in &self.keywords {
                if let Some(k) = words.find_any(list) {
                    return Some(Fired {
                        reason: "keyword",
                        detail: k.to_owned(),
                    });
                }
            }
        }
        if on.vip && self.vip_action == VipAction::Escalate && self.is_vip(s.tier) {
            return Some(Fired {
                reason: "vip",
                detail: s.tier.to_owned(),
            });
        }
        if on.sensitive {
            if let Some(k) = words.find_any(&self.sensitive_keywords) {
                return Some(Fired {
                    reason: "sensitive",
                    detail: k.to_owned(),
                });
            }
            if let Some(i) = s.intent
                && self.sensitive_intents.iter().any(|x| x == i)
            {
                return Some(Fired {
                    reason: "sensitive",
                    detail: i.to_owned(),
                });
            }
        }
        if on.sentiment {
            let sc = sentiment::score(s.text);
            if sc.score < self.sentiment_threshold {
                return Some(Fired {
                    reason: "sentiment",
                    detail: format!("{:.1}", sc.score),
                });
            }
            // The model reads sentences: "1", "oui", "A123" or "blabla" answer the bot,
            // and a frustrated word or two is the lexicon's (shouting, `!!!`, insults).
            if self.frustration_model
                && words.as_slice().len() >= MODEL_MIN_WORDS
                && let Some(m) = (s.frustration)(&sc)
                && m < self.sentiment_threshold
            {
                return Some(Fired {
                    reason: "sentiment",
                    detail: format!("{m:.2} (model; lexicon {:.1})", sc.score),
                });
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject(text: &str) -> Subject<'_> {
        Subject {
            tier: "standard",
            text,
            is_button: false,
            intent: None,
            frustration: &|_| None,
        }
    }

    fn reason(e: &Escalation, s: &Subject<'_>) -> Option<&'static str> {
        e.check(s, TriggerSwitches::default()).map(|f| f.reason)
    }

    #[test]
    fn keywords_in_any_language_ignoring_case_and_accents() {
        let e = Escalation::default();
        assert_eq!(
            reason(&e, &subject("je veux parler à un CONSEILLER")),
            Some("keyword")
        );
        assert_eq!(reason(&e, &subject("vorrei un operatore")), Some("keyword"));
        assert_eq!(reason(&e, &subject("Quiero un REEMBOLSO")), Some("keyword"));
        assert_eq!(
            reason(&e, &subject("Ich will einen Menschen")),
            None,
            "whole words only"
        );
        assert_eq!(
            reason(&e, &subject("Rückerstattung bitte")),
            Some("keyword")
        );
        assert_eq!(reason(&e, &subject("agentes")), None, "whole words only");
        assert_eq!(reason(&e, &subject("A123")), None);
    }

    #[test]
    fn order_is_keyword_vip_sensitive_sentiment() {
        let e = Escalation {
            vip_action: VipAction::Escalate,
            sensitive_keywords: vec!["avocat".into()],
            ..Escalation::default()
        };
        let vip = |text| Subject {
            tier: "vip",
            ..subject(text)
        };
        assert_eq!(reason(&e, &vip("un humain, mon avocat")), Some("keyword"));
        assert_eq!(reason(&e, &vip("mon avocat")), Some("vip"));
        assert_eq!(
            reason(&e, &subject("mon AVOCAT est INADMISSIBLE !!!")),
            Some("sensitive")
        );
        assert_eq!(
            reason(&e, &subject("C'EST INADMISSIBLE !!!")),
            Some("sentiment")
        );
        assert_eq!(reason(&e, &subject("Bonjour")), None);
    }

    #[test]
    fn vip_priority_action_does_not_escalate_by_itself() {
        let e = Escalation::default();
        let s = Subject {
            tier: "vip",
            ..subject("Bonjour")
        };
        assert_eq!(reason(&e, &s), None);
        assert!(e.is_vip("vip"));
    }

    #[test]
    fn buttons_and_switched_off_triggers_do_not_fire() {
        let e = Escalation::default();
        let b = Subject {
            is_button: true,
            ..subject("agent")
        };
        assert_eq!(reason(&e, &b), None);
        let off = TriggerSwitches {
            keyword: false,
            ..TriggerSwitches::default()
        };
        assert_eq!(e.check(&subject("agent"), off), None);
    }

    #[test]
    fn sensitive_intents() {
        let e = Escalation {
            sensitive_intents: vec!["cancel".into()],
            ..Escalation::default()
        };
        let s = Subject {
            intent: Some("cancel"),
            ..subject("je veux arrêter")
        };
        assert_eq!(reason(&e, &s), Some("sensitive"));
    }

    #[test]
    fn the_model_is_read_only_for_sentences_no_earlier_trigger_takes() {
        let e = Escalation::default();
        let on = TriggerSwitches::default();
        assert!(e.reads_model("I have been waiting for three weeks now", on));
        assert!(
            !e.reads_model("can I talk to a human", on),
            "the keyword first"
        );
        assert!(!e.reads_model("ok thanks", on), "two words: the lexicon's");
        assert!(!e.reads_model("A123", on));
        assert!(
            !e.reads_model("this is a disgrace, terrible awful service", on),
            "the lexicon fires first"
        );
        let quiet = TriggerSwitches {
            sentiment: false,
            ..on
        };
        assert!(!e.reads_model("I have been waiting for three weeks now", quiet));
        let no_model = Escalation {
            frustration_model: false,
            ..Escalation::default()
        };
        assert!(!no_model.reads_model("I have been waiting for three weeks now", on));
    }
}

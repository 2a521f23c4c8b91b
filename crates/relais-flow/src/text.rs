//! The product's text-matching rule, shared by `keywords` and escalation keywords.
//!
//! Keywords match whole words or whole phrases of a reply, ignoring case and
//! accents. Words are split on every character that is not alphanumeric:
//! spaces, punctuation, hyphens and apostrophes (`j'ai` is `j ai`).
//! [`fold`] does the case and accent folding, [`words`] the splitting, and
//! [`Words`] holds a reply prepared once for many keyword checks.

pub use relais_nlu::text::fold;

/// Folded words: split on every char that is not alphanumeric (so spaces,
/// punctuation, apostrophes ' and ’, hyphens). Empty pieces dropped.
pub fn words(text: &str) -> Vec<String> {
    fold(text)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A reply, prepared once for many keyword checks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Words {
    words: Vec<String>,
}

impl Words {
    /// Folds and splits `text` (see [`words`]).
    pub fn new(text: &str) -> Words {
        Words { words: words(text) }
    }

    /// The folded words, in order.
    pub fn as_slice(&self) -> &[String] {
        &self.words
    }

    /// True when the reply has no word at all (empty, or only punctuation).
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// True when `phrase` (folded and split the same way) occurs as a
    /// contiguous run of whole words. An empty phrase never matches.
    pub fn contains_phrase(&self, phrase: &str) -> bool {
        if phrase.is_ascii() {
            // The hot case (lexicons and keywords are mostly ASCII): ASCII needs no accent
            // folding, so compare word by word without folding the phrase again.
            let mut parts = phrase
                .split(|c: char| !c.is_ascii_alphanumeric())
                .filter(|w| !w.is_empty());
            let Some(first) = parts.next() else {
                return false;
            };
            let Some(second) = parts.next() else {
                return self.words.iter().any(|w| w.eq_ignore_ascii_case(first));
            };
            let needle: Vec<&str> = [first, second].into_iter().chain(parts).collect();
            if needle.is_empty() || needle.len() > self.words.len() {
                return false;
            }
            return self.words.windows(needle.len()).any(|window| {
                window
                    .iter()
                    .zip(&needle)
                    .all(|(w, n)| w.eq_ignore_ascii_case(n))
            });
        }
        let needle = words(phrase);
        if needle.is_empty() || needle.len() > self.words.len() {
            return false;
        }
        self.words
            .windows(needle.len())
            .any(|window| window == needle.as_slice())
    }

    /// The first of `phrases` that matches, if any.
    pub fn find_any<'p>(&self, phrases: &'p [String]) -> Option<&'p str> {
        phrases
            .iter()
            .find(|p| self.contains_phrase(p))
            .map(String::as_str)
    }
}

/// Many phrases checked against one reply at once: indexed by their first folded
/// word, so a check costs one hash lookup per word of the reply instead of a scan of
/// the reply per phrase. Matches exactly what [`Words::contains_phrase`] matches.
#[derive(Debug, Clone, Default)]
pub struct PhraseSet {
    /// Each phrase as given, and its folded words.
    phrases: Vec<(String, Vec<String>)>,
    by_first: std::collections::HashMap<String, Vec<usize>>,
}

impl PhraseSet {
    pub fn new<S: AsRef<str>>(phrases: impl IntoIterator<Item = S>) -> PhraseSet {
        let mut set = PhraseSet::default();
        for p in phrases {
            let folded = words(p.as_ref());
            let Some(first) = folded.first().cloned() else {
                continue; // an empty phrase never matches
            };
            set.by_first
                .entry(first)
                .or_default()
                .push(set.phrases.len());
            set.phrases.push((p.as_ref().to_owned(), folded));
        }
        set
    }

    /// The phrases that occur in `reply`, each once, in the order they were given.
    pub fn matches(&self, reply: &Words) -> Vec<&str> {
        let w = reply.as_slice();
        let mut hit: Vec<usize> = Vec::new();
        for (i, word) in w.iter().enumerate() {
            for &p in self.by_first.get(word).map_or(&[][..], Vec::as_slice) {
                let needle = &self.phrases[p].1;
                if w.len() - i >= needle.len() && w[i..i + needle.len()] == needle[..] {
                    hit.push(p);
                }
            }
        }
        hit.sort_unstable();
        hit.dedup();
        hit.into_iter()
            .map(|p| self.phrases[p].0.as_str())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_lowercases_and_strips_accents() {
        let cases = [
            ("Été", "ete"),
            ("DÉBITÉ", "debite"),
            ("Straße", "strasse"),
            ("STRAẞE", "strasse"),
            ("Œuvre", "oeuvre"),
            ("Æsir", "aesir"),
            ("Øresund", "oresund"),
            ("Łódź", "lodz"),
            ("Đorđe", "dorde"),
            ("niño", "nino"),
            ("Ça", "ca"),
            ("über", "uber"),
            ("e\u{301}", "e"),
            ("İstanbul", "istanbul"),
            ("한국어", "한국어"),
            ("", ""),
        ];
        for (input, want) in cases {
            assert_eq!(fold(input), want, "fold({input:?})");
        }
    }

    #[test]
    fn words_split_on_everything_not_alphanumeric() {
        assert_eq!(words("J'ai été débité"), ["j", "ai", "ete", "debite"]);
        assert_eq!(words("l’appli"), ["l", "appli"]);
        assert_eq!(words("e-mail, s.v.p.!"), ["e", "mail", "s", "v", "p"]);
        assert_eq!(words("  A123 ?? "), ["a123"]);
        assert!(words("!!! ... ’'").is_empty());
        assert!(words("").is_empty());
    }

    #[test]
    fn phrase_matching_table() {
        let cases: &[(&str, &str, bool)] = &[
            ("Je veux parler à un CONSEILLER!", "conseiller", true),
            ("Je veux parler à un CONSEILLER!", "Conseiller", true),
            ("Je veux parler à un CONSEILLER!", "parler a un", true),
            ("Je veux parler à des conseillers", "conseiller", false),
            ("Je veux parler à un conseiller", "conseillers", false),
            ("J'ai été débité", "j ai", true),
            ("J'ai été débité", "j'ai", true),
            ("J'ai été débité", "ete debite", true),
            ("J'ai été débité", "débité", true),
            ("J'ai été débité", "ai debite", false),
            ("remboursement?", "Remboursement", true),
            ("1", "1", true),
            ("12", "1", false),
            ("A1", "1", false),
            ("I want to talk to an agent now", "talk to an agent", true),
            ("I want to talk to agent now", "talk to an agent", false),
            ("I want to talk", "talk to an agent", false),
            ("Straße", "strasse", true),
            ("strasse", "Straße", true),
            ("anything", "", false),
            ("anything", "  ?! ", false),
            ("", "", false),
            ("", "x", false),
            ("Le service client–urgent", "urgent", true),
            ("c’est urgent", "c est", true),
        ];
        for &(reply, phrase, want) in cases {
            assert_eq!(
                Words::new(reply).contains_phrase(phrase),
                want,
                "{reply:?} contains {phrase:?}"
            );
        }
    }

    #[test]
    fn find_any_returns_first_match() {
        let reply = Words::new("Je veux un remboursement, pas un avoir");
        let phrases: Vec<String> = ["conseiller", "avoir", "remboursement"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(reply.find_any(&phrases), Some("avoir"));
        assert_eq!(reply.find_any(&[]), None);
        assert_eq!(reply.find_any(&["x".to_string(), String::new()]), None);
    }

    #[test]
    fn words_accessors() {
        let w = Words::new("Bonjour, ça va ?");
        assert_eq!(w.as_slice(), ["bonjour", "ca", "va"]);
        assert!(!w.is_empty());
        assert!(Words::new(" ?! ").is_empty());
        assert!(Words::default().is_empty());
    }

    #[test]
    fn odd_input_does_not_panic() {
        let inputs = [
            "😡😡😡 !!!",
            "👨‍👩‍👧‍👦 family",
            "مرحبا hello Привет 你好 こんにちは が",
            "\u{301}\u{302}\u{303}",
            "\u{200d}\u{200b}\u{feff}",
            "a\u{0}b",
            "ＡＢＣ１２３",
            "עברית‏ mixed ‎RTL",
            "\u{10ffff}\u{e000}",
        ];
        for input in inputs {
            let w = Words::new(input);
            for phrase in inputs {
                let _ = w.contains_phrase(phrase);
            }
            let _ = w.contains_phrase("family");
            let _ = fold(input);
        }
        assert!(Words::new("👨‍👩‍👧‍👦 family").contains_phrase("FAMILY"));
        assert!(Words::new("Привет мир").contains_phrase("ПРИВЕТ"));
        let long = "ab ".repeat(10_000);
        assert!(Words::new(&long).contains_phrase("ab ab ab"));
    }

    #[test]
    fn a_phrase_set_matches_what_contains_phrase_matches() {
        let phrases = [
            "merci",
            "pas content",
            "j'en ai marre",
            "Très déçu",
            "non",
            "ne",
            "ne marche pas",
            "ärgerlich",
            "straße",
            "ab ab",
            "",
            "!!!",
            "thank you",
            "ok",
        ];
        let set = PhraseSet::new(phrases);
        let replies = [
            "Merci beaucoup",
            "je suis PAS content du tout",
            "J’en ai marre, ça ne marche pas !",
            "tres decu",
            "ab ab ab",
            "Strasse ist ärgerlich",
            "thank",
            "thank you ok ok",
            "",
            "!!!",
            "non non non",
            "ne",
        ];
        for r in replies {
            let w = Words::new(r);
            let want: Vec<&str> = phrases
                .iter()
                .copied()
                .filter(|p| w.contains_phrase(p))
                .fold(Vec::new(), |mut v, p| {
                    if !v.contains(&p) {
                        v.push(p);
                    }
                    v
                });
            assert_eq!(set.matches(&w), want, "in {r:?}");
        }
    }
}

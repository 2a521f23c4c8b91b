//! Personal data in free text (SPEC §11), pure: text in, text out.
//!
//! Card numbers and IBANs typed by customers are found by their check digits (Luhn,
//! ISO 7064 mod 97-10), so an order or tracking number is not taken for one, and
//! masked at rest when `[privacy] mask` asks for it: `[card ••••4242]`,
//! `[iban FR76…0189]`. An anonymised transcript (retention) also loses e-mail
//! addresses, phone numbers and the words the caller knows are the contact's (name,
//! addresses).

use std::borrow::Cow;

/// A kind of personal data found in text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Card,
    Iban,
    Email,
    Phone,
}

impl Kind {
    /// The kinds `[privacy] mask` may name.
    pub const MASKABLE: [Kind; 2] = [Kind::Card, Kind::Iban];
    pub const ALL: [Kind; 4] = [Kind::Card, Kind::Iban, Kind::Email, Kind::Phone];

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Card => "card",
            Kind::Iban => "iban",
            Kind::Email => "email",
            Kind::Phone => "phone",
        }
    }
}

/// `text` with every piece of the given kinds replaced; borrowed when nothing is.
pub fn mask<'a>(text: &'a str, kinds: &[Kind]) -> Cow<'a, str> {
    if kinds.is_empty() || !text.bytes().any(|b| b.is_ascii_digit() || b == b'@') {
        return Cow::Borrowed(text);
    }
    let mut out = String::new();
    let mut copied = 0;
    let mut i = 0;
    let bytes = text.as_bytes();
    while i < bytes.len() {
        let starts_word = i == 0 || !is_word(prev_char(text, i));
        let found = if starts_word {
            kinds.iter().find_map(|k| match k {
                Kind::Card => card_at(text, i),
                Kind::Iban => iban_at(text, i),
                Kind::Phone => phone_at(text, i),
                Kind::Email => None,
            })
        } else {
            None
        };
        let found = found.or_else(|| {
            (bytes[i] == b'@' && kinds.contains(&Kind::Email))
                .then(|| email_around(text, i, copied))
                .flatten()
        });
        match found {
            Some((start, end, replacement)) => {
                out.push_str(&text[copied..start]);
                out.push_str(&replacement);
                copied = end;
                i = end;
            }
            None => i += text[i..].chars().next().map_or(1, char::len_utf8),
        }
    }
    if copied == 0 && out.is_empty() {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// Every string in a JSON value masked in place (a message's payload: captions,
/// subjects, quoted text).
pub fn mask_json(value: &mut serde_json::Value, kinds: &[Kind]) {
    match value {
        serde_json::Value::String(s) => {
            if let Cow::Owned(t) = mask(s, kinds) {
                *s = t;
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| mask_json(v, kinds)),
        serde_json::Value::Object(map) => map.values_mut().for_each(|v| mask_json(v, kinds)),
        _ => {}
    }
}

/// `text` anonymised: every kind masked, and each of `known` (the contact's name and
/// addresses; case-insensitive, whole words) replaced by `[redacted]`.
pub fn anonymise(text: &str, known: &[&str]) -> String {
    let mut out = mask(text, &Kind::ALL).into_owned();
    for word in known
        .iter()
        .map(|w| w.trim())
        .filter(|w| w.chars().count() >= 2)
    {
        out = replace_word(&out, word, "[redacted]");
    }
    out
}

fn replace_word(text: &str, word: &str, by: &str) -> String {
    let lower = text.to_lowercase();
    let needle = word.to_lowercase();
    // Lower-casing may change byte lengths (rare letters): then match exactly.
    let (hay, needle) = if lower.len() == text.len() {
        (lower.as_str(), needle)
    } else {
        (text, word.to_owned())
    };
    let mut out = String::new();
    let mut from = 0;
    let mut search = 0;
    while let Some(pos) = hay[search..].find(&needle).map(|p| p + search) {
        let end = pos + needle.len();
        let before_ok = pos == 0 || !is_word(prev_char(text, pos));
        let after_ok = text[end..].chars().next().is_none_or(|c| !is_word(c));
        if before_ok && after_ok {
            out.push_str(&text[from..pos]);
            out.push_str(by);
            from = end;
        }
        search = end;
    }
    out.push_str(&text[from..]);
    out
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric()
}

fn prev_char(text: &str, i: usize) -> char {
    text[..i].chars().next_back().unwrap_or(' ')
}

/// Digits from `i`, single separators (from `seps`) allowed between two digits:
/// (the digits, the end of the last digit).
fn digit_run(text: &str, i: usize, seps: &[u8]) -> (Vec<u8>, usize) {
    let b = text.as_bytes();
    let mut digits = Vec::new();
    let mut j = i;
    let mut end = i;
    while j < b.len() {
        if b[j].is_ascii_digit() {
            digits.push(b[j] - b'0');
            j += 1;
            end = j;
        } else if seps.contains(&b[j]) && j + 1 < b.len() && b[j + 1].is_ascii_digit() && j > i {
            j += 1;
        } else {
            break;
        }
    }
    (digits, end)
}

fn ends_word(text: &str, end: usize) -> bool {
    text[end..].chars().next().is_none_or(|c| !is_word(c))
}

fn card_at(text: &str, i: usize) -> Option<(usize, usize, String)> {
    if !text.as_bytes()[i].is_ascii_digit() {
        return None;
    }
    let (digits, end) = digit_run(text, i, b" -");
    if !(13..=19).contains(&digits.len()) || !ends_word(text, end) || !luhn(&digits) {
        return None;
    }
    let last: String = digits[digits.len() - 4..]
        .iter()
        .map(|d| char::from(b'0' + d))
        .collect();
    Some((i, end, format!("[card ••••{last}]")))
}

fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(k, &d)| {
            let d = u32::from(d);
            if !k.is_multiple_of(2) {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn iban_at(text: &str, i: usize) -> Option<(usize, usize, String)> {
    let b = text.as_bytes();
    if b.len() < i + 4
        || !b[i].is_ascii_alphabetic()
        || !b[i + 1].is_ascii_alphabetic()
        || !b[i + 2].is_ascii_digit()
        || !b[i + 3].is_ascii_digit()
    {
        return None;
    }
    // Groups of letters and digits separated by single spaces; the IBAN is the longest
    // run of whole groups whose check digits hold.
    let mut ends = Vec::new();
    let mut chars = Vec::new();
    let mut lens = Vec::new();
    let mut j = i;
    loop {
        let start = j;
        while j < b.len() && b[j].is_ascii_alphanumeric() {
            chars.push(b[j].to_ascii_uppercase());
            j += 1;
        }
        if j == start || !ends_word(text, j) {
            break;
        }
        ends.push(j);
        lens.push(chars.len());
        if chars.len() > 34 || j + 1 >= b.len() || b[j] != b' ' {
            break;
        }
        j += 1;
    }
    for (k, &end) in ends.iter().enumerate().rev() {
        let n = lens[k];
        if (15..=34).contains(&n) && mod97(&chars[..n]) == Some(1) {
            let last = String::from_utf8_lossy(&chars[n - 4..n]).into_owned();
            let head = String::from_utf8_lossy(&chars[..4]).into_owned();
            return Some((i, end, format!("[iban {head}…{last}]")));
        }
    }
    None
}

/// ISO 7064 mod 97-10 of an IBAN: the first four characters moved to the end, letters
/// as 10–35.
fn mod97(iban: &[u8]) -> Option<u32> {
    let mut r: u32 = 0;
    for &c in iban[4..].iter().chain(&iban[..4]) {
        let v = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            b'A'..=b'Z' => u32::from(c - b'A') + 10,
            _ => return None,
        };
        r = if v >= 10 {
            (r * 100 + v) % 97
        } else {
            (r * 10 + v) % 97
        };
    }
    Some(r)
}

fn phone_at(text: &str, i: usize) -> Option<(usize, usize, String)> {
    let b = text.as_bytes();
    let digits_from = if b[i] == b'+' { i + 1 } else { i };
    if digits_from >= b.len() || !b[digits_from].is_ascii_digit() {
        return None;
    }
    let (digits, end) = digit_run(text, digits_from, b" -.");
    ((8..=15).contains(&digits.len()) && ends_word(text, end))
        .then(|| (i, end, "[phone]".to_owned()))
}

/// The e-mail address around the `@` at `at`, not reaching back before `floor`.
fn email_around(text: &str, at: usize, floor: usize) -> Option<(usize, usize, String)> {
    let b = text.as_bytes();
    let local = |c: u8| c.is_ascii_alphanumeric() || b"._%+-".contains(&c);
    let domain = |c: u8| c.is_ascii_alphanumeric() || c == b'.' || c == b'-';
    let mut start = at;
    while start > floor && local(b[start - 1]) {
        start -= 1;
    }
    let mut end = at + 1;
    while end < b.len() && domain(b[end]) {
        end += 1;
    }
    while end > at + 1 && b[end - 1] == b'.' {
        end -= 1;
    }
    let host = &text[at + 1..end];
    (start < at && host.contains('.') && !host.starts_with('.'))
        .then(|| (start, end, "[email]".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MASK: &[Kind] = &[Kind::Card, Kind::Iban];

    #[test]
    fn card_numbers_are_masked_when_their_check_digit_holds() {
        assert_eq!(
            mask("my card: 4242 4242 4242 4242, thanks", MASK),
            "my card: [card ••••4242], thanks"
        );
        assert_eq!(mask("4111-1111-1111-1111", MASK), "[card ••••1111]");
        assert_eq!(mask("5555555555554444.", MASK), "[card ••••4444].");
        // Sixteen digits that fail Luhn: an order number, kept.
        assert_eq!(
            mask("order 4242424242424241", MASK),
            "order 4242424242424241"
        );
        // Too short, or glued to letters.
        assert_eq!(mask("424242424242", MASK), "424242424242");
        assert_eq!(mask("ref4242424242424242", MASK), "ref4242424242424242");
        assert!(matches!(mask("nothing here", MASK), Cow::Borrowed(_)));
        assert_eq!(mask("4242 4242 4242 4242", &[]), "4242 4242 4242 4242");
    }

    #[test]
    fn ibans_are_masked_in_any_spacing_and_case() {
        assert_eq!(
            mask("IBAN FR76 3000 6000 0112 3456 7890 189 merci", MASK),
            "IBAN [iban FR76…0189] merci"
        );
        assert_eq!(mask("de89370400440532013000", MASK), "[iban DE89…3000]");
        assert_eq!(
            mask("IT60 X054 2811 1010 0000 0123 456", MASK),
            "[iban IT60…3456]"
        );
        // A wrong check: kept.
        assert_eq!(
            mask("FR77 3000 6000 0112 3456 7890 189", MASK),
            "FR77 3000 6000 0112 3456 7890 189"
        );
        // Only what was asked for.
        assert_eq!(
            mask("FR76 3000 6000 0112 3456 7890 189", &[Kind::Card]),
            "FR76 3000 6000 0112 3456 7890 189"
        );
    }

    #[test]
    fn anonymising_removes_emails_phones_and_known_words() {
        let t = "Hi, I'm Marie Curie (marie.curie@example.org, +33 6 12 34 56 78); MARIE again. Marienbad stays.";
        let a = anonymise(t, &["Marie", "Curie", "+33612345678"]);
        assert_eq!(
            a,
            "Hi, I'm [redacted] [redacted] ([email], [phone]); [redacted] again. Marienbad stays."
        );
        assert_eq!(anonymise("order 12345 is late", &[]), "order 12345 is late");
        assert_eq!(anonymise("é@x", &["é"]), "é@x");
    }

    #[test]
    fn any_text_is_masked_without_a_panic() {
        // Untrusted text: digits, separators, letters, `@`, accents, emoji, mixed.
        let alphabet: Vec<char> = "0123456789 -.@abcFRDEIT\u{e9}\u{20ac}\u{1f600}\u{130}\n"
            .chars()
            .collect();
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..20_000 {
            let len = (seed % 40) as usize;
            let mut t = String::new();
            for _ in 0..len {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                t.push(alphabet[(seed % alphabet.len() as u64) as usize]);
            }
            let _ = mask(&t, &Kind::ALL);
            let _ = anonymise(&t, &["\u{130}", "abc", "\u{e9}t\u{e9}"]);
        }
    }

    #[test]
    fn kinds_read_back() {
        for k in Kind::ALL {
            assert_eq!(Kind::parse(k.as_str()), Some(k));
        }
        assert_eq!(Kind::parse("ssn"), None);
    }
}

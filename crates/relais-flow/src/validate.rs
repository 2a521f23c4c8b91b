//! `expect` validators of `ask` (SPEC §3): each turns a reply into the value saved, or
//! says which built-in message explains the refusal.

use crate::model::Validator;
use crate::text::{Words, fold};
use crate::wording::{NO, Wording, YES};
use serde_json::{Value, json};

/// The value to save for a valid reply.
pub fn check(v: &Validator, text: &str) -> Result<Value, Wording> {
    let t = text.trim();
    match v {
        Validator::Regex(p) => {
            if p.regex.is_match(t) {
                Ok(json!(t))
            } else {
                Err(Wording::Invalid)
            }
        }
        Validator::Text => {
            if t.is_empty() {
                Err(Wording::ExpectText)
            } else {
                Ok(json!(t))
            }
        }
        Validator::Number => number(t).ok_or(Wording::ExpectNumber),
        Validator::Email => email(t).then(|| json!(t)).ok_or(Wording::ExpectEmail),
        Validator::Phone => phone(t).map(Value::String).ok_or(Wording::ExpectPhone),
        Validator::Date => date(t).map(Value::String).ok_or(Wording::ExpectDate),
        Validator::YesNo => yes_no(t).map(Value::Bool).ok_or(Wording::ExpectYesNo),
    }
}

fn number(t: &str) -> Option<Value> {
    let n = t.replace([' ', '\u{a0}'], "");
    if let Ok(i) = n.parse::<i64>() {
        return Some(json!(i));
    }
    let f: f64 = n.replace(',', ".").parse().ok()?;
    f.is_finite().then(|| json!(f))
}

fn email(t: &str) -> bool {
    let Some((local, domain)) = t.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !t.contains(char::is_whitespace)
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
}

/// Digits with an optional leading `+`; separators (spaces, dots, dashes, brackets) dropped.
fn phone(t: &str) -> Option<String> {
    let mut out = String::new();
    for (i, c) in t.chars().enumerate() {
        match c {
            '+' if i == 0 => out.push(c),
            '0'..='9' => out.push(c),
            ' ' | '.' | '-' | '(' | ')' => {}
            _ => return None,
        }
    }
    let digits = out.chars().filter(char::is_ascii_digit).count();
    (6..=15).contains(&digits).then_some(out)
}

/// `YYYY-MM-DD`, `DD/MM/YYYY` or `DD.MM.YYYY`, saved as `YYYY-MM-DD`.
fn date(t: &str) -> Option<String> {
    let parts: Vec<&str> = t.split(['-', '/', '.']).collect();
    let [a, b, c] = parts.as_slice() else {
        return None;
    };
    let (y, m, d) = if a.len() == 4 { (a, b, c) } else { (c, b, a) };
    let (y, m, d): (i16, i8, i8) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    let date = jiff::civil::Date::new(y, m, d).ok()?;
    Some(date.to_string())
}

/// Yes or no in any of the five languages.
pub fn yes_no(t: &str) -> Option<bool> {
    let words = Words::new(t);
    let folded = fold(t.trim());
    let yes = YES
        .iter()
        .any(|w| words.contains_phrase(w) && folded.len() <= 40);
    let no = NO.iter().any(|w| words.contains_phrase(w));
    match (yes, no) {
        (true, false) => Some(true),
        (false, true) => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validators() {
        assert_eq!(check(&Validator::Number, "42"), Ok(json!(42)));
        assert_eq!(check(&Validator::Number, "3,5"), Ok(json!(3.5)));
        assert_eq!(check(&Validator::Number, "abc"), Err(Wording::ExpectNumber));
        assert!(check(&Validator::Email, "a@b.fr").is_ok());
        assert!(check(&Validator::Email, "a@b").is_err());
        assert_eq!(
            check(&Validator::Phone, "+33 6 00 00 00 01"),
            Ok(json!("+33600000001"))
        );
        assert!(check(&Validator::Phone, "call me").is_err());
        assert_eq!(
            check(&Validator::Date, "24/12/2026"),
            Ok(json!("2026-12-24"))
        );
        assert_eq!(
            check(&Validator::Date, "2026-02-30"),
            Err(Wording::ExpectDate)
        );
        assert_eq!(check(&Validator::YesNo, "Oui !"), Ok(json!(true)));
        assert_eq!(check(&Validator::YesNo, "non merci"), Ok(json!(false)));
        assert_eq!(check(&Validator::YesNo, "Sì"), Ok(json!(true)));
        assert_eq!(
            check(&Validator::YesNo, "peut-être"),
            Err(Wording::ExpectYesNo)
        );
        assert_eq!(check(&Validator::Text, "  "), Err(Wording::ExpectText));
    }
}

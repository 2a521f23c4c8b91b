//! Case and accent folding, the one rule every text comparison of Relais uses: keywords,
//! escalation keywords, intent features and knowledge-base search.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Lowercases and strips accents (NFD, drop combining marks; also map
/// ß->ss, œ->oe, æ->ae, ø->o, ł->l, đ->d).
///
/// What is left is recomposed (NFC), so scripts whose letters decompose
/// without combining marks (Hangul) come back whole.
pub fn fold(text: &str) -> String {
    text.chars()
        .flat_map(char::to_lowercase)
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(expand)
        .nfc()
        .collect()
}

/// Letters with no canonical decomposition that still carry an "accent"
/// readers expect to ignore. Input is already lowercase.
fn expand(c: char) -> Expanded {
    match c {
        'ß' => Expanded::Two('s', 's'),
        'œ' => Expanded::Two('o', 'e'),
        'æ' => Expanded::Two('a', 'e'),
        'ø' => Expanded::One('o'),
        'ł' => Expanded::One('l'),
        'đ' => Expanded::One('d'),
        other => Expanded::One(other),
    }
}

/// One or two chars, without allocating.
enum Expanded {
    One(char),
    Two(char, char),
    Empty,
}

impl Iterator for Expanded {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        match *self {
            Expanded::One(a) => {
                *self = Expanded::Empty;
                Some(a)
            }
            Expanded::Two(a, b) => {
                *self = Expanded::One(b);
                Some(a)
            }
            Expanded::Empty => None,
        }
    }
}

//! Word and character n-gram TF-IDF, learnt from the training texts.
//!
//! Two blocks, each L2-normalised on its own: word unigrams and bigrams (words are runs
//! of two or more letters or digits), and character 2- to 5-grams inside each
//! space-padded word (kept when at least two training texts have them). Term frequency
//! is sublinear (`1 + ln tf`), inverse document frequency smoothed
//! (`ln((1 + n) / (1 + df)) + 1`). Texts are case- and accent-folded first, so that
//! "résilier" and "resilier" are one word. This is the featuriser the measurements of
//! `docs/understanding.md` were made with; changing a detail moves accuracy.

use crate::text::fold;
use std::collections::HashMap;

/// A sparse row: (column, value), columns increasing.
pub type Sparse = Vec<(u32, f32)>;

/// The learnt vocabulary (by 64-bit hash of each n-gram: a collision among a few
/// million n-grams has a chance of one in ten million) and document frequencies.
#[derive(Debug, Clone, Default)]
pub struct Tfidf {
    words: HashMap<u64, u32>,
    chars: HashMap<u64, u32>,
    idf: Vec<f32>,
}

/// Minimum document frequency of a character n-gram.
const CHAR_MIN_DF: usize = 2;

impl Tfidf {
    /// Learns the vocabulary of `texts` and returns it with each text's row.
    pub fn fit(texts: &[&str]) -> (Tfidf, Vec<Sparse>) {
        let grams: Vec<(Vec<u64>, Vec<u64>)> = texts.iter().map(|t| grams(&fold(t))).collect();
        let mut word_df: HashMap<u64, usize> = HashMap::new();
        let mut char_df: HashMap<u64, usize> = HashMap::new();
        for (w, c) in &grams {
            count_once(w, &mut word_df);
            count_once(c, &mut char_df);
        }
        // Sorted vocabularies: the columns do not depend on hash order.
        let mut wv: Vec<(u64, usize)> = word_df.into_iter().collect();
        wv.sort_unstable();
        let mut cv: Vec<(u64, usize)> = char_df
            .into_iter()
            .filter(|(_, df)| *df >= CHAR_MIN_DF)
            .collect();
        cv.sort_unstable();
        let n = texts.len() as f32;
        let mut tf = Tfidf::default();
        for (i, (term, df)) in wv.iter().chain(cv.iter()).enumerate() {
            let map = if i < wv.len() {
                &mut tf.words
            } else {
                &mut tf.chars
            };
            map.insert(*term, i as u32);
            tf.idf.push(((1.0 + n) / (1.0 + *df as f32)).ln() + 1.0);
        }
        let rows = grams.iter().map(|(w, c)| tf.row(w, c)).collect();
        (tf, rows)
    }

    /// Bytes it holds (hash maps counted at 16 bytes an entry, plus their spare room).
    pub fn heap_bytes(&self) -> usize {
        24 * (self.words.capacity() + self.chars.capacity()) + 4 * self.idf.capacity()
    }

    /// Number of columns.
    pub fn len(&self) -> usize {
        self.idf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.idf.is_empty()
    }

    /// The row of a new text (unknown terms are ignored).
    pub fn transform(&self, text: &str) -> Sparse {
        let (w, c) = grams(&fold(text));
        self.row(&w, &c)
    }

    fn row(&self, words: &[u64], chars: &[u64]) -> Sparse {
        let mut row = self.block(words, &self.words);
        row.extend(self.block(chars, &self.chars));
        row
    }

    fn block(&self, terms: &[u64], vocab: &HashMap<u64, u32>) -> Sparse {
        let mut counts: HashMap<u32, u32> = HashMap::new();
        for t in terms {
            if let Some(&col) = vocab.get(t) {
                *counts.entry(col).or_default() += 1;
            }
        }
        let mut block: Sparse = counts
            .into_iter()
            .map(|(col, n)| (col, (1.0 + (n as f32).ln()) * self.idf[col as usize]))
            .collect();
        block.sort_unstable_by_key(|(c, _)| *c);
        let norm = block.iter().map(|(_, v)| v * v).sum::<f32>().sqrt();
        if norm > 0.0 {
            for (_, v) in &mut block {
                *v /= norm;
            }
        }
        block
    }
}

fn count_once(terms: &[u64], df: &mut HashMap<u64, usize>) {
    let mut seen: Vec<u64> = terms.to_vec();
    seen.sort_unstable();
    seen.dedup();
    for t in seen {
        *df.entry(t).or_default() += 1;
    }
}

/// FNV-1a, 64 bits, of a tag and the n-gram's characters: stable across runs and builds.
fn hash(tag: u8, chars: impl Iterator<Item = char>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ u64::from(tag);
    h = h.wrapping_mul(0x0000_0100_0000_01b3);
    for c in chars {
        let mut buf = [0u8; 4];
        for b in c.encode_utf8(&mut buf).bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// A folded text's word 1–2-grams and padded-word character 2–5-grams, hashed.
fn grams(folded: &str) -> (Vec<u64>, Vec<u64>) {
    let (w, c) = gram_strings(folded);
    (
        w.iter().map(|g| hash(b'w', g.chars())).collect(),
        c.iter().map(|g| hash(b'c', g.chars())).collect(),
    )
}

/// The n-grams as text (what [`grams`] hashes).
fn gram_strings(folded: &str) -> (Vec<String>, Vec<String>) {
    let words: Vec<&str> = folded
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| w.chars().nth(1).is_some())
        .collect();
    let mut w: Vec<String> = words.iter().map(|s| (*s).to_owned()).collect();
    for pair in words.windows(2) {
        w.push(format!("{} {}", pair[0], pair[1]));
    }
    let mut c = Vec::new();
    for word in folded.split_whitespace() {
        let padded: Vec<char> = std::iter::once(' ')
            .chain(word.chars())
            .chain(std::iter::once(' '))
            .collect();
        for n in 2..=5 {
            if padded.len() <= n {
                // A padded word no longer than n is one n-gram, itself, counted once.
                c.push(padded.iter().collect());
                break;
            }
            for win in padded.windows(n) {
                c.push(win.iter().collect());
            }
        }
    }
    (w, c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_two_letters_or_more_and_pairs_of_them() {
        let (w, _) = gram_strings(&fold("J'ai été débité 2 fois!"));
        assert_eq!(
            w,
            [
                "ai",
                "ete",
                "debite",
                "fois",
                "ai ete",
                "ete debite",
                "debite fois"
            ]
        );
    }

    #[test]
    fn char_grams_stay_inside_padded_words() {
        let (_, c) = gram_strings("ab c");
        // " ab " : 2-grams " a","ab","b "; 3-grams " ab","ab "; then itself, once.
        // " c "  : 2-grams " c","c "; then itself, once.
        assert_eq!(
            c,
            [" a", "ab", "b ", " ab", "ab ", " ab ", " c", "c ", " c "]
        );
    }

    #[test]
    fn rows_are_unit_blocks_and_unknown_terms_are_ignored() {
        let (tf, rows) = Tfidf::fit(&["cancel my order", "cancel my card", "where is my order"]);
        let words = rows[0]
            .iter()
            .filter(|(c, _)| (*c as usize) < tf.words.len());
        let norm: f32 = words.map(|(_, v)| v * v).sum();
        assert!((norm - 1.0).abs() < 1e-5);
        assert!(tf.transform("zzzz qqqq").is_empty());
        assert_eq!(tf.transform("Cancel my ORDER"), rows[0]);
    }
}

//! Knowledge-base search: BM25 over stemmed words (Snowball stemmers for French,
//! Italian, English, Spanish and German), fused with the sentence-vector similarity of the
//! question to each article's title and paragraphs, so that a question in other words
//! (synonyms, abbreviations, typos, another language) still finds its article.
//!
//! Building is two steps so that the caller can take the vectors from its cache:
//! [`passages`] lists the texts to encode, [`Index::new`] takes their vectors.

use crate::encoder::DIM;
use crate::svm::dot;
use crate::text::fold;
use rust_stemmers::{Algorithm, Stemmer};
use std::collections::HashMap;

const K1: f32 = 1.2;
const B: f32 = 0.75;
/// Half-saturation of the BM25 score when it is turned into a 0–1 figure.
const BM25_HALF: f32 = 4.0;
/// Weight of the lexical figure against the cosine similarity.
const LEXICAL_WEIGHT: f32 = 0.35;
/// Characters of a paragraph encoded as one passage.
const PASSAGE_CHARS: usize = 400;

/// An article as search sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Article {
    pub id: String,
    pub title: String,
    pub language: String,
    pub tags: Vec<String>,
    pub body: String,
}

/// A search result: the article's position in the index's list and its score: the
/// cosine similarity of the question to the article's closest passage, plus 0.35 × the
/// BM25 score mapped to 0–1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub article: usize,
    pub score: f32,
    pub similarity: f32,
    pub bm25: f32,
}

/// The least score for `answer` to send an article (measured on the test workspace of
/// `relais-flow`, 20 questions in other words in five languages and 3 that no article
/// answers: the first score 0.30–0.80, the others 0.15–0.27; see docs/understanding.md).
pub const MIN_SCORE: f32 = 0.28;
/// The least lead of the best article over the second for `answer` to send it: two
/// articles that fit about as well mean the question is not clear enough.
pub const MIN_LEAD: f32 = 0.05;

/// The article `answer` sends, if the best hit is good and clear enough (hits best first).
pub fn confident(hits: &[Hit], min_score: f32) -> Option<&Hit> {
    let best = hits.first()?;
    let second = hits.get(1).map_or(0.0, |h| h.score);
    (best.score >= min_score && best.score - second >= MIN_LEAD).then_some(best)
}

/// The texts to encode for `articles`: (article, passage): the title, then each
/// sentence of the text after the title (a question is closest to the one sentence
/// that answers it).
pub fn passages(articles: &[Article]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, a) in articles.iter().enumerate() {
        out.push((i, a.title.clone()));
        for para in a.body.split("\n\n").map(plain).filter(|p| !p.is_empty()) {
            for sentence in sentences(&para) {
                let cut: String = sentence.chars().take(PASSAGE_CHARS).collect();
                out.push((i, format!("{}. {cut}", a.title)));
            }
        }
    }
    out
}

/// A paragraph's sentences: split after `.`, `!`, `?` or `;` followed by a space.
fn sentences(para: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = para.as_bytes();
    for (i, c) in para.char_indices() {
        if matches!(c, '.' | '!' | '?' | ';') && bytes.get(i + 1) == Some(&b' ') {
            let s = para[start..=i].trim();
            if s.chars().count() > 3 {
                out.push(s);
            }
            start = i + 1;
        }
    }
    let rest = para[start..].trim();
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

/// Markdown made plain enough to encode: no heading marks, emphasis or link targets.
fn plain(md: &str) -> String {
    let mut out = String::new();
    for line in md.lines() {
        let line = line
            .trim()
            .trim_start_matches('#')
            .trim_start_matches(['-', '*', '>'])
            .trim();
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&line.replace(['*', '_', '`'], ""));
    }
    out
}

/// The searchable knowledge base.
pub struct Index {
    pub articles: Vec<Article>,
    /// Per language: stemmed term → (article, term frequency).
    postings: HashMap<String, HashMap<String, Vec<(u32, f32)>>>,
    lengths: Vec<f32>,
    average: HashMap<String, f32>,
    counts: HashMap<String, usize>,
    /// Each article's passage vectors.
    vectors: Vec<Vec<[f32; DIM]>>,
}

fn algorithm(language: &str) -> Option<Algorithm> {
    Some(match language.split('-').next().unwrap_or("") {
        "fr" => Algorithm::French,
        "it" => Algorithm::Italian,
        "en" => Algorithm::English,
        "es" => Algorithm::Spanish,
        "de" => Algorithm::German,
        "pt" => Algorithm::Portuguese,
        "nl" => Algorithm::Dutch,
        _ => return None,
    })
}

/// Function words of the five languages (folded): they say nothing of what an article
/// is about, and in a small knowledge base BM25 would give them weight.
const STOPWORDS: &[&str] = &[
    // en
    "a",
    "an",
    "the",
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "am",
    "i",
    "me",
    "my",
    "you",
    "your",
    "we",
    "our",
    "us",
    "it",
    "its",
    "he",
    "she",
    "they",
    "them",
    "their",
    "this",
    "that",
    "these",
    "those",
    "of",
    "to",
    "in",
    "on",
    "at",
    "for",
    "with",
    "from",
    "by",
    "and",
    "or",
    "but",
    "if",
    "so",
    "do",
    "does",
    "did",
    "can",
    "could",
    "will",
    "would",
    "have",
    "has",
    "had",
    "what",
    "where",
    "when",
    "how",
    "why",
    "which",
    "who",
    "there",
    "here",
    "not",
    "no",
    "yes",
    "please",
    "thanks",
    "thank",
    "hello",
    "hi",
    "about",
    "any",
    "some",
    "as",
    "than",
    "too",
    "very",
    "just",
    "s",
    "t",
    // fr
    "le",
    "la",
    "les",
    "l",
    "un",
    "une",
    "des",
    "du",
    "de",
    "d",
    "et",
    "ou",
    "mais",
    "je",
    "j",
    "tu",
    "il",
    "elle",
    "nous",
    "vous",
    "ils",
    "elles",
    "mon",
    "ma",
    "mes",
    "ton",
    "ta",
    "tes",
    "son",
    "sa",
    "ses",
    "notre",
    "votre",
    "vos",
    "leur",
    "ce",
    "cet",
    "cette",
    "ces",
    "qui",
    "que",
    "qu",
    "quoi",
    "est",
    "sont",
    "suis",
    "etre",
    "ai",
    "avez",
    "avoir",
    "pour",
    "par",
    "avec",
    "sans",
    "dans",
    "sur",
    "en",
    "y",
    "ne",
    "pas",
    "se",
    "s",
    "c",
    "n",
    "m",
    "t",
    "comment",
    "quand",
    "ou",
    "pourquoi",
    "quel",
    "quelle",
    "quels",
    "quelles",
    "bonjour",
    "merci",
    "svp",
    "oui",
    "non",
    "plait",
    // it
    "il",
    "lo",
    "gli",
    "le",
    "i",
    "un",
    "uno",
    "una",
    "di",
    "da",
    "del",
    "della",
    "dei",
    "delle",
    "al",
    "alla",
    "nel",
    "nella",
    "con",
    "per",
    "tra",
    "fra",
    "e",
    "ed",
    "o",
    "ma",
    "che",
    "chi",
    "non",
    "mi",
    "ti",
    "si",
    "ci",
    "vi",
    "mio",
    "mia",
    "miei",
    "mie",
    "suo",
    "sua",
    "sono",
    "sei",
    "ho",
    "hai",
    "ha",
    "abbiamo",
    "come",
    "quando",
    "dove",
    "perche",
    "quale",
    "questo",
    "questa",
    "buongiorno",
    "grazie",
    "favore",
    // es
    "el",
    "los",
    "las",
    "un",
    "una",
    "unos",
    "unas",
    "de",
    "del",
    "al",
    "y",
    "o",
    "pero",
    "que",
    "quien",
    "yo",
    "tu",
    "mi",
    "mis",
    "su",
    "sus",
    "nuestro",
    "es",
    "son",
    "soy",
    "estoy",
    "esta",
    "he",
    "ha",
    "hay",
    "con",
    "por",
    "para",
    "sin",
    "en",
    "como",
    "cuando",
    "donde",
    "porque",
    "cual",
    "este",
    "esto",
    "hola",
    "gracias",
    "favor",
    "lo",
    "me",
    "se",
    // de
    "der",
    "die",
    "das",
    "den",
    "dem",
    "des",
    "ein",
    "eine",
    "einen",
    "einem",
    "einer",
    "und",
    "oder",
    "aber",
    "ich",
    "du",
    "er",
    "sie",
    "es",
    "wir",
    "ihr",
    "mein",
    "meine",
    "meinen",
    "meiner",
    "dein",
    "ihre",
    "unser",
    "ist",
    "sind",
    "bin",
    "habe",
    "hat",
    "haben",
    "mit",
    "von",
    "zu",
    "zum",
    "zur",
    "im",
    "in",
    "an",
    "am",
    "auf",
    "fur",
    "bei",
    "aus",
    "nicht",
    "kein",
    "keine",
    "wie",
    "wo",
    "wann",
    "warum",
    "was",
    "welche",
    "hallo",
    "danke",
    "bitte",
    "mir",
    "mich",
];

fn is_stopword(w: &str) -> bool {
    STOPWORDS.contains(&w)
}

/// Words of a text, case- and accent-folded (customers often type without accents),
/// function words left out, then stemmed for `language`.
pub fn terms(text: &str, language: &str) -> Vec<String> {
    let stemmer = algorithm(language).map(Stemmer::create);
    fold(text)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && !is_stopword(w))
        .map(|w| match &stemmer {
            Some(s) => s.stem(w).into_owned(),
            None => w.to_owned(),
        })
        .collect()
}

impl Index {
    /// `vectors` holds one vector per entry of [`passages`]`(&articles)`, in order.
    pub fn new(articles: Vec<Article>, vectors: &[[f32; DIM]]) -> Index {
        let passages = passages(&articles);
        assert_eq!(passages.len(), vectors.len(), "one vector per passage");
        let mut by_article: Vec<Vec<[f32; DIM]>> = vec![Vec::new(); articles.len()];
        for ((i, _), v) in passages.iter().zip(vectors) {
            by_article[*i].push(*v);
        }
        let mut postings: HashMap<String, HashMap<String, Vec<(u32, f32)>>> = HashMap::new();
        let mut lengths = Vec::with_capacity(articles.len());
        let mut total: HashMap<String, f32> = HashMap::new();
        let mut counts: HashMap<String, usize> = HashMap::new();
        for (i, a) in articles.iter().enumerate() {
            let lang = a.language.clone();
            // The title and tags count twice: they say what the article is about.
            let text = format!(
                "{t}\n{t}\n{tags}\n{body}",
                t = a.title,
                tags = a.tags.join(" "),
                body = a.body
            );
            let words = terms(&text, &lang);
            let mut tf: HashMap<String, f32> = HashMap::new();
            for w in &words {
                *tf.entry(w.clone()).or_default() += 1.0;
            }
            let list = postings.entry(lang.clone()).or_default();
            for (term, n) in tf {
                list.entry(term).or_default().push((i as u32, n));
            }
            lengths.push(words.len() as f32);
            *total.entry(lang.clone()).or_default() += words.len() as f32;
            *counts.entry(lang).or_default() += 1;
        }
        let average = total
            .into_iter()
            .map(|(l, t)| {
                let n = counts[&l] as f32;
                (l, t / n)
            })
            .collect();
        Index {
            articles,
            postings,
            lengths,
            average,
            counts,
            vectors: by_article,
        }
    }

    pub fn len(&self) -> usize {
        self.articles.len()
    }

    /// Bytes it holds, roughly: passage vectors, postings, the articles' text.
    pub fn heap_bytes(&self) -> usize {
        let vectors: usize = self.vectors.iter().map(|v| v.len() * 4 * DIM).sum();
        let postings: usize = self
            .postings
            .values()
            .flat_map(|m| m.iter())
            .map(|(t, docs)| t.len() + 48 + docs.len() * 8)
            .sum();
        let text: usize = self
            .articles
            .iter()
            .map(|a| a.title.len() + a.body.len() + 64)
            .sum();
        vectors + postings + text
    }

    pub fn is_empty(&self) -> bool {
        self.articles.is_empty()
    }

    /// The best articles for a question, best first, at most `limit`. Articles in
    /// `language` are preferred: when there are some, the others are not searched.
    pub fn search(
        &self,
        question: &str,
        vector: &[f32; DIM],
        language: Option<&str>,
        limit: usize,
    ) -> Vec<Hit> {
        let langs: Vec<&String> = match language.and_then(|l| self.counts.get_key_value(l)) {
            Some((l, _)) => vec![l],
            None => self.counts.keys().collect(),
        };
        let mut bm25: HashMap<usize, f32> = HashMap::new();
        for lang in &langs {
            let (Some(list), Some(avg)) = (self.postings.get(*lang), self.average.get(*lang))
            else {
                continue;
            };
            let n = self.counts[*lang] as f32;
            let mut q = terms(question, lang);
            q.sort_unstable();
            q.dedup();
            for term in q {
                let Some(docs) = list.get(&term) else {
                    continue;
                };
                let df = docs.len() as f32;
                let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
                for (doc, tf) in docs {
                    let len = self.lengths[*doc as usize];
                    let s = idf * tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * len / avg.max(1.0)));
                    *bm25.entry(*doc as usize).or_default() += s;
                }
            }
        }
        let mut hits: Vec<Hit> = self
            .articles
            .iter()
            .enumerate()
            .filter(|(_, a)| langs.contains(&&a.language))
            .map(|(i, _)| {
                let similarity = self.vectors[i]
                    .iter()
                    .map(|v| dot(v, vector))
                    .fold(f32::NEG_INFINITY, f32::max)
                    .max(0.0);
                let b = bm25.get(&i).copied().unwrap_or(0.0);
                let lexical = b / (b + BM25_HALF);
                Hit {
                    article: i,
                    score: similarity + LEXICAL_WEIGHT * lexical,
                    similarity,
                    bm25: b,
                }
            })
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.article.cmp(&b.article)));
        hits.truncate(limit);
        hits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_fold_and_match_across_inflections() {
        assert_eq!(
            terms("Livraisons livrées", "fr"),
            terms("livraison livree", "fr")
        );
        assert_eq!(terms("deliveries", "en"), terms("delivery", "en"));
        assert_eq!(terms("Lieferungen", "de")[0], terms("Lieferung", "de")[0]);
        assert_eq!(terms("xyz", "tlh"), ["xyz"]);
    }

    #[test]
    fn bm25_ranks_the_article_with_the_words_first() {
        let arts = vec![
            Article {
                id: "a".into(),
                title: "Delivery times".into(),
                language: "en".into(),
                tags: vec![],
                body: "We deliver in three to five days.".into(),
            },
            Article {
                id: "b".into(),
                title: "Refunds".into(),
                language: "en".into(),
                tags: vec![],
                body: "Refunds take ten days.".into(),
            },
        ];
        let n = passages(&arts).len();
        let idx = Index::new(arts, &vec![[0.0; DIM]; n]);
        let hits = idx.search("when will my delivery arrive", &[0.0; DIM], Some("en"), 2);
        assert_eq!(hits[0].article, 0);
        assert!(hits[0].bm25 > 0.0 && hits[1].bm25 == 0.0);
    }
}

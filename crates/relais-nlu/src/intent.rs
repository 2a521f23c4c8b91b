//! Intents: a classifier trained on a workspace's example phrases, that names the intent
//! of a message or says it is out of scope.
//!
//! Each text is its TF-IDF row ([`Tfidf`]) followed by its sentence vector × 1.5; one
//! linear machine per intent ([`svm`]). The best margin below the threshold means out of
//! scope. Examples labelled `oos` train one more class, whose win also means out of scope.
//! The sentence vectors come from the caller (the encoder, through its cache), so that
//! training and classifying are plain functions of their inputs.

use crate::encoder::DIM;
use crate::features::{Sparse, Tfidf};
use crate::svm::{self, Design, Linear};

/// Weight of the sentence vector against the two unit TF-IDF blocks.
pub const DENSE_WEIGHT: f32 = 1.5;
/// Best margin under which a message is out of scope (measured on CLINC150, see
/// `docs/understanding.md`).
pub const DEFAULT_THRESHOLD: f32 = -0.40;
/// The label of out-of-scope examples.
pub const OOS: &str = "oos";
/// Least cosine similarity between a message and its intent's closest example: with
/// few examples per intent the machines' margins say little about what is out of scope,
/// and a message that resembles none of the examples is not that intent (measured on
/// `relais-flow/tests/understanding`: paraphrases 0.55–0.84, other questions 0.13–0.43).
/// It applies to intents with fewer examples than [`FEW_EXAMPLES`] (with more, the
/// margin threshold alone is measured: CLINC150, 100 examples per intent).
pub const DEFAULT_MIN_SIMILARITY: f32 = 0.5;
pub const FEW_EXAMPLES: usize = 30;

/// A trained classifier.
#[derive(Debug, Clone)]
pub struct Intents {
    tfidf: Tfidf,
    labels: Vec<String>,
    linear: Linear,
    /// Each example's label and sentence vector, for the similarity gate.
    examples: Vec<(u32, [f32; DIM])>,
    pub threshold: f32,
    pub min_similarity: f32,
}

/// What the classifier says of a message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Guess<'a> {
    /// The intent, or `None` when out of scope.
    pub intent: Option<&'a str>,
    /// The best-scoring label (even when out of scope).
    pub best: &'a str,
    /// Its margin: above 0 the machine says yes.
    pub margin: f32,
    /// Cosine similarity of the message to the closest example of `best`.
    pub similarity: f32,
}

impl Intents {
    /// Trains on `texts` with their `labels` and sentence `vectors` (same order). `None`
    /// when there is nothing to learn (no example).
    pub fn train(texts: &[&str], labels: &[&str], vectors: &[[f32; DIM]]) -> Option<Intents> {
        assert!(texts.len() == labels.len() && texts.len() == vectors.len());
        if texts.is_empty() {
            return None;
        }
        let mut names: Vec<String> = labels.iter().map(|l| (*l).to_owned()).collect();
        names.sort_unstable();
        names.dedup();
        let ids: Vec<u32> = labels
            .iter()
            .map(|l| {
                names
                    .binary_search_by(|n| n.as_str().cmp(l))
                    .expect("a known label") as u32
            })
            .collect();
        let (tfidf, sparse) = Tfidf::fit(texts);
        let dense = scaled(vectors);
        let linear = svm::train(&Design {
            sparse: &sparse,
            dense: &dense,
            dense_dim: DIM,
            sparse_dim: tfidf.len(),
            labels: &ids,
            classes: names.len(),
        });
        let examples = ids.iter().copied().zip(vectors.iter().copied()).collect();
        Some(Intents {
            tfidf,
            labels: names,
            linear,
            examples,
            threshold: DEFAULT_THRESHOLD,
            min_similarity: DEFAULT_MIN_SIMILARITY,
        })
    }

    /// Bytes it holds: the machines' weights, the example vectors, the vocabulary.
    pub fn heap_bytes(&self) -> usize {
        self.linear.heap_bytes() + self.examples.len() * (4 + 4 * DIM) + self.tfidf.heap_bytes()
    }

    /// The intents it knows, `oos` included when it was trained on some.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// Classifies a message whose sentence vector is `vector`.
    pub fn classify(&self, text: &str, vector: &[f32; DIM]) -> Guess<'_> {
        self.guess(&self.tfidf.transform(text), vector)
    }

    /// The best label and its margin, before the threshold.
    pub fn guess(&self, row: &Sparse, vector: &[f32; DIM]) -> Guess<'_> {
        let dense: Vec<f32> = vector.iter().map(|v| v * DENSE_WEIGHT).collect();
        let margins = self.linear.margins(row, &dense);
        let (index, margin) =
            margins
                .iter()
                .enumerate()
                .fold(
                    (0, f32::NEG_INFINITY),
                    |b, (i, m)| if *m > b.1 { (i, *m) } else { b },
                );
        let best = self.labels[index].as_str();
        let own = self.examples.iter().filter(|(l, _)| *l as usize == index);
        let similarity = own
            .clone()
            .map(|(_, e)| crate::svm::dot(e, vector))
            .fold(f32::NEG_INFINITY, f32::max);
        let gated = own.count() < FEW_EXAMPLES && similarity < self.min_similarity;
        let intent = (margin >= self.threshold && !gated && best != OOS).then_some(best);
        Guess {
            intent,
            best,
            margin,
            similarity,
        }
    }
}

fn scaled(vectors: &[[f32; DIM]]) -> Vec<f32> {
    vectors.iter().flatten().map(|v| v * DENSE_WEIGHT).collect()
}

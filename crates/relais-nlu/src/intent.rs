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

/// A trained classifier.
#[derive(Debug, Clone)]
pub struct Intents {
    tfidf: Tfidf,
    labels: Vec<String>,
    linear: Linear,
    pub threshold: f32,
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
        Some(Intents {
            tfidf,
            labels: names,
            linear,
            threshold: DEFAULT_THRESHOLD,
        })
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
        let (best, margin) =
            margins
                .iter()
                .enumerate()
                .fold(
                    (0, f32::NEG_INFINITY),
                    |b, (i, m)| if *m > b.1 { (i, *m) } else { b },
                );
        let best = self.labels[best].as_str();
        let intent = (margin >= self.threshold && best != OOS).then_some(best);
        Guess {
            intent,
            best,
            margin,
        }
    }
}

fn scaled(vectors: &[[f32; DIM]]) -> Vec<f32> {
    vectors.iter().flatten().map(|v| v * DENSE_WEIGHT).collect()
}

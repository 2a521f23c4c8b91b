//! Frustration: a linear machine on a message's sentence vector and the lexicon's
//! signals (score, shouting, a run of `!`/`?`, an insult), trained on the labelled
//! messages that ship with Relais (`data/frustration-train.csv`, five languages), so
//! that idioms of exasperation, complaints about waiting and sarcasm are caught where
//! the lexicon sees nothing.
//!
//! Its score uses the sentiment scale of SPEC §4 (−1 frustrated … +1 calm): at the
//! machine's operating point it is −0.5, the default `sentiment_threshold`. The
//! operating point is chosen on the training file alone, by five-fold cross-validation:
//! the margin that 2 % of neutral messages exceed.

use crate::encoder::DIM;
use crate::features::Sparse;
use crate::svm::{self, Design};

/// The lexicon's signals the machine reads besides the vector.
pub const SIGNALS: usize = 4;
/// Share of neutral cross-validation messages allowed above the operating point.
const NEUTRAL_ABOVE: f64 = 0.02;

/// The trained machine.
#[derive(Debug, Clone, PartialEq)]
pub struct Frustration {
    weights: Vec<f32>,
    bias: f32,
    /// The margin at the operating point.
    pub cut: f32,
}

/// The lexicon's view of a message, as the machine reads it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Signals {
    /// The lexicon score, −1 … +1.
    pub lexicon: f32,
    pub shouting: bool,
    pub punctuation_run: bool,
    pub insult: bool,
}

impl Signals {
    fn values(&self) -> [f32; SIGNALS] {
        [
            self.lexicon,
            f32::from(u8::from(self.shouting)),
            f32::from(u8::from(self.punctuation_run)),
            f32::from(u8::from(self.insult)),
        ]
    }
}

fn row(vector: &[f32; DIM], signals: &Signals) -> Vec<f32> {
    let mut r = Vec::with_capacity(DIM + SIGNALS);
    r.extend(vector.iter().map(|v| v * crate::intent::DENSE_WEIGHT));
    r.extend(signals.values());
    r
}

fn fit(rows: &[Vec<f32>], frustrated: &[bool]) -> Frustration {
    let dense: Vec<f32> = rows.iter().flatten().copied().collect();
    let labels: Vec<u32> = frustrated.iter().map(|f| u32::from(*f)).collect();
    let sparse: Vec<Sparse> = vec![Vec::new(); rows.len()];
    let linear = svm::train(&Design {
        sparse: &sparse,
        dense: &dense,
        dense_dim: DIM + SIGNALS,
        sparse_dim: 0,
        labels: &labels,
        classes: 2,
    });
    let (weights, bias) = linear.class(1);
    Frustration {
        weights,
        bias,
        cut: 0.0,
    }
}

impl Frustration {
    /// Trains on labelled messages (their vectors and signals) and sets the operating
    /// point by five-fold cross-validation.
    pub fn train(vectors: &[[f32; DIM]], signals: &[Signals], frustrated: &[bool]) -> Frustration {
        assert!(vectors.len() == signals.len() && vectors.len() == frustrated.len());
        let rows: Vec<Vec<f32>> = vectors
            .iter()
            .zip(signals)
            .map(|(v, s)| row(v, s))
            .collect();
        let mut neutral_margins = Vec::new();
        // Fold of a row: `(i + i / 5) % 5` mixes files whose rows cycle through the five
        // languages (plain `i % 5` would hold one language out per fold).
        let fold_of = |i: usize| (i + i / 5) % 5;
        for fold in 0..5 {
            let keep: Vec<usize> = (0..rows.len()).filter(|i| fold_of(*i) != fold).collect();
            let m = fit(
                &keep.iter().map(|i| rows[*i].clone()).collect::<Vec<_>>(),
                &keep.iter().map(|i| frustrated[*i]).collect::<Vec<_>>(),
            );
            for i in (0..rows.len()).filter(|i| fold_of(*i) == fold && !frustrated[*i]) {
                neutral_margins.push(m.raw(&rows[i]));
            }
        }
        neutral_margins.sort_by(f32::total_cmp);
        let at = ((1.0 - NEUTRAL_ABOVE) * neutral_margins.len() as f64).floor() as usize;
        let cut = neutral_margins
            .get(at.min(neutral_margins.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0);
        let mut m = fit(&rows, frustrated);
        m.cut = cut;
        m
    }

    fn raw(&self, row: &[f32]) -> f32 {
        svm::dot(&self.weights, row) + self.bias
    }

    /// The machine's margin (above [`Frustration::cut`]: frustrated).
    pub fn margin(&self, vector: &[f32; DIM], signals: &Signals) -> f32 {
        self.raw(&row(vector, signals))
    }

    /// The score on the sentiment scale: −0.5 at the operating point, lower is more
    /// frustrated, clamped to −1 … +1.
    pub fn score(&self, vector: &[f32; DIM], signals: &Signals) -> f32 {
        (self.cut - self.margin(vector, signals) - 0.5).clamp(-1.0, 1.0)
    }

    /// The largest difference between two machines' numbers (weights, bias, cut): the
    /// vectors differ in their last bits between processors with and without FMA.
    pub fn distance(&self, other: &Frustration) -> f32 {
        self.weights
            .iter()
            .zip(&other.weights)
            .map(|(a, b)| (a - b).abs())
            .chain([(self.bias - other.bias).abs(), (self.cut - other.cut).abs()])
            .fold(
                if self.weights.len() == other.weights.len() {
                    0.0
                } else {
                    f32::INFINITY
                },
                f32::max,
            )
    }

    /// The weights as JSON (the shipped `model/frustration.json`).
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "cut": self.cut,
            "bias": self.bias,
            "weights": self.weights,
        })
        .to_string()
    }

    pub fn from_json(text: &str) -> Result<Frustration, String> {
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let num = |k: &str| v[k].as_f64().map(|x| x as f32).ok_or(format!("no `{k}`"));
        let weights: Vec<f32> = v["weights"]
            .as_array()
            .ok_or("no `weights`")?
            .iter()
            .map(|x| {
                x.as_f64()
                    .map(|x| x as f32)
                    .ok_or("a weight is not a number")
            })
            .collect::<Result<_, _>>()?;
        if weights.len() != DIM + SIGNALS {
            return Err(format!(
                "{} weights, expected {}",
                weights.len(),
                DIM + SIGNALS
            ));
        }
        Ok(Frustration {
            weights,
            bias: num("bias")?,
            cut: num("cut")?,
        })
    }
}

/// The machine that ships with Relais, trained on `data/frustration-train.csv`.
pub fn shipped() -> &'static Frustration {
    static SHIPPED: std::sync::OnceLock<Frustration> = std::sync::OnceLock::new();
    SHIPPED.get_or_init(|| {
        Frustration::from_json(include_str!("../model/frustration.json")).expect(
            "model/frustration.json is made by the crate's own training (see tests/frustration.rs)",
        )
    })
}

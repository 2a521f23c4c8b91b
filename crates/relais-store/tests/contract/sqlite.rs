//! What only the SQLite backend has: its file layout and the WAL's upkeep.

use super::*;
use relais_core::event::Event;

fn wal_bytes(db: &std::path::Path) -> u64 {
    std::fs::metadata(db.with_extension("db-wal"))
        .map(|m| m.len())
        .unwrap_or(0)
}

/// Checkpoints run off the writer thread; under writes that never pause, the writer
/// still lets the WAL start over once it passes its limit, and the file stays bounded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wal_starts_over_under_continuous_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("relais.db");
    let mut options = SqliteOptions::new(&path);
    options.wal_limit = 64;
    options.checkpoint_gap = std::time::Duration::ZERO;
    let store = Arc::new(relais_store::sqlite::open(options).unwrap());
    let mut writers = Vec::new();
    for w in 0..16 {
        let store = store.clone();
        writers.push(tokio::spawn(async move {
            for i in 0..250 {
                let data = serde_json::json!({ "writer": w, "i": i, "pad": "x".repeat(1500) });
                let event = Event::new(EventKind::HttpCalled, Actor::System, T0, data);
                store.record_event(event).await.unwrap();
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    assert_eq!(store.stats().await.unwrap().events, 16 * 250);
    // 4,000 events of 1.5 KB are over 6 MB of pages; the WAL was capped near 64 pages
    // of 2 KiB (more by the frames of one checkpoint pass).
    let wal = wal_bytes(&path);
    assert!(wal < 1024 * 1024, "the WAL grew to {wal} bytes");
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let page: i64 = conn
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .unwrap();
    assert_eq!(page, 2048, "a new database uses 2 KiB pages");
}

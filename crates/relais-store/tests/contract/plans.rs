//! The query-plan test: the whole contract suite runs again on SQLite (with the
//! bot's steps taken on snapshots before the batch) and a statement log, and `EXPLAIN QUERY PLAN` of every distinct statement it ran must
//! neither scan a table that grows with traffic nor sort in a temporary B-tree. Those
//! are the statements the pipeline, the desk and the timers run, so a query whose cost
//! grows with the data (a whole queue read, a history scan) fails here, not in
//! production. A second part drops the indexes the hot path relies on and checks the
//! test notices.

use relais_store::Store;
use relais_store::sqlite::{SqliteOptions, StatementLog};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub(crate) type Case = fn(Arc<dyn Store>) -> Pin<Box<dyn Future<Output = ()>>>;

/// Tables whose rows grow with traffic: a full scan of one of them is a cost that grows
/// with every conversation ever handled.
const GROWING: &[&str] = &[
    "contacts",
    "contact_identities",
    "conversations",
    "messages",
    "events",
    "timers",
    "outbox",
    "delivery_attempts",
    "csat",
    "contact_consents",
    "webhook_deliveries",
    "media",
    "conversation_facts",
];

/// Statements allowed to break the rule, each with its reason.
const EXEMPT: &[(&str, &str)] = &[
    (
        "INSERT INTO conversations (channel_id, contact_id, address, status, team, assignee, priority, tags, \
         escalation_reason, resolved_by, fields, bot_state, previous_id, last_seq, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        "the scans in its plan are SQLite's foreign-key search for orphaned child rows, which \
         runs only while deferred constraint violations are pending; ours are immediate",
    ),
    (
        "SELECT (SELECT COUNT(*) FROM contacts), (SELECT COUNT(*) FROM conversations), \
         (SELECT COUNT(*) FROM messages), (SELECT COUNT(*) FROM messages WHERE direction = 'inbound'), \
         (SELECT COUNT(*) FROM events), (SELECT COUNT(*) FROM timers WHERE state = 'pending'), \
         (SELECT COUNT(*) FROM outbox)",
        "Store::stats counts every table for tests; no server path calls it",
    ),
    (
        "SELECT id, webhook_id, event, state, attempts, last_error, created_at, delivered_at, payload, \
         next_attempt_at FROM webhook_deliveries ORDER BY id DESC LIMIT $1",
        "the newest deliveries walking the table backwards by rowid: it stops after LIMIT rows",
    ),
    (
        "SELECT conversation_id, started_at, escalated_at, reason, team, agent_reply_at, solved_at, \
         solved_auto, human, csat_sent, csat, flows FROM conversation_facts WHERE +started_at >= $1 AND +started_at < $2",
        "a report whose period covers most of the kept stories reads them straight through \
         (facts.rs measured it faster than the index and a lookup per row); shorter ones use the index",
    ),
];

/// What is wrong with a statement's plan, if anything.
fn faults(plan: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for step in plan {
        if let Some(rest) = step.strip_prefix("SCAN ") {
            let table = rest.split_whitespace().next().unwrap_or("");
            if GROWING.contains(&table) {
                out.push(format!("full scan: {step}"));
            }
        }
        if step.contains("TEMP B-TREE FOR ORDER BY") {
            out.push(format!("sort: {step}"));
        }
    }
    out
}

fn words(sql: &str) -> Vec<&str> {
    sql.split_whitespace().collect()
}

fn plan(conn: &rusqlite::Connection, sql: &str) -> Result<Vec<String>, rusqlite::Error> {
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
    // Plans do not depend on the values: every parameter is bound to NULL.
    for i in 1..=stmt.parameter_count() {
        stmt.raw_bind_parameter(i, rusqlite::types::Null)?;
    }
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(r.get::<_, String>(3)?);
    }
    Ok(out)
}

/// Every fault of every statement, against the schema of `db`.
fn check(db: &std::path::Path, statements: &[String]) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut found = Vec::new();
    for sql in statements {
        if EXEMPT.iter().any(|(s, _)| words(s) == words(sql)) {
            continue;
        }
        // Schema changes and transaction control have no plan worth reading.
        let head = sql.trim_start().to_ascii_uppercase();
        if [
            "CREATE",
            "ALTER",
            "DROP",
            "BEGIN",
            "COMMIT",
            "ROLLBACK",
            "SAVEPOINT",
            "RELEASE",
            "PRAGMA",
        ]
        .iter()
        .any(|k| head.starts_with(k))
        {
            continue;
        }
        match plan(&conn, sql) {
            Ok(p) => found.extend(
                faults(&p)
                    .into_iter()
                    .map(|f| format!("{f}\n    in: {sql}")),
            ),
            Err(e) => found.push(format!("cannot explain ({e}): {sql}")),
        }
    }
    found
}

/// Whether the `$n` of a statement first appear in the order 1, 2, 3…
fn placeholders_in_order(sql: &str) -> bool {
    let b = sql.as_bytes();
    let mut next = 1;
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' {
            let digits: String = b[i + 1..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .map(|c| *c as char)
                .collect();
            if let Ok(n) = digits.parse::<usize>() {
                if n == next {
                    next += 1;
                } else if n > next {
                    return false;
                }
            }
            i += 1 + digits.len();
        } else {
            i += 1;
        }
    }
    true
}

#[test]
fn placeholder_order_is_checked() {
    assert!(placeholders_in_order(
        "SELECT a FROM t WHERE x = $1 AND y = $2 OR z = $1"
    ));
    assert!(!placeholders_in_order(
        "SELECT a FROM t WHERE x = $2 AND y = $1"
    ));
}

async fn run_suite(log: &StatementLog) {
    for (name, case) in super::ALL {
        let dir = tempfile::tempdir().unwrap();
        let mut options = SqliteOptions::new(dir.path().join("relais.db"));
        options.statements = Some(log.clone());
        // This second pass also takes the bot's steps on snapshots before the batch,
        // so every contract is checked on that path too.
        options.step_before_batch = true;
        let store: Arc<dyn Store> = Arc::new(relais_store::sqlite::open(options).unwrap());
        eprintln!("plans: running {name}");
        case(store).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_statement_scans_a_growing_table_or_sorts_in_a_temporary_btree() {
    let log = StatementLog::default();
    run_suite(&log).await;
    let statements: Vec<String> = log.lock().unwrap().iter().cloned().collect();
    assert!(
        statements.len() > 50,
        "the suite ran only {} distinct statements: is the log wired?",
        statements.len()
    );
    // SQLite numbers `$n` parameters by first appearance, not by n: a statement that
    // names `$2` before `$1` binds its values to the wrong places.
    let misnumbered: Vec<&String> = statements
        .iter()
        .filter(|sql| !placeholders_in_order(sql))
        .collect();
    assert!(
        misnumbered.is_empty(),
        "statements whose $n do not first appear as $1, $2, $3…: {misnumbered:#?}"
    );
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("schema.db");
    drop(relais_store::sqlite::open(SqliteOptions::new(&db)).unwrap());
    let found = check(&db, &statements);
    assert!(
        found.is_empty(),
        "{} statements of {} have a plan whose cost grows with the data:\n{}",
        found.len(),
        statements.len(),
        found.join("\n")
    );

    // The test notices when an index the hot path needs is gone.
    for index in [
        "conversations_queue",
        "conversations_assignee",
        "conversations_handled",
        "messages_inbound_dedupe",
        "messages_reply_to",
        "timers_due",
    ] {
        let copy = dir.path().join(format!("without_{index}.db"));
        std::fs::copy(&db, &copy).unwrap();
        rusqlite::Connection::open(&copy)
            .unwrap()
            .execute_batch(&format!("DROP INDEX {index}"))
            .unwrap();
        assert!(
            !check(&copy, &statements).is_empty(),
            "dropping the index {index} went unnoticed"
        );
    }
}

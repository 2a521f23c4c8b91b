//! Each conversation's story (`relais_core::kpi::Story`: what the KPIs read of its
//! events) kept in `conversation_facts`, so that a report over a million
//! conversations reads a million rows instead of every event.
//!
//! The stories are folded from the append-only event log up to a cursor
//! (`store_settings` `kpi.folded`) by a background pass ([`prepare`] on a read
//! snapshot, [`commit`] in one short write that checks the cursor has not moved), not
//! in the message's own transaction: measured there, keeping them cost the seed
//! benchmark about a third of its throughput (docs/performance.md). A report reads the
//! kept stories and folds the events after the cursor itself ([`report`]), in one
//! snapshot, so it is exact and current whatever the pass has reached. On PostgreSQL
//! ids are not committed in order, so a pass only takes events older than
//! [`PG_HORIZON`]: a transaction that inserted an event holds it for far less.

use crate::Result;
use crate::model::ReportQuery;
use crate::sql::{ConnExt, Dialect, Row, Val};
use crate::tx::Tx;
use relais_core::Timestamp;
use relais_core::id::ConversationId;
use relais_core::kpi::Story;
use std::collections::HashMap;

const COLS: &str = "started_at, escalated_at, reason, team, agent_reply_at, solved_at, \
                    solved_auto, human, csat_sent, csat, flows";
const CURSOR: &str = "kpi.folded";
/// How old an event must be before a pass folds it, on PostgreSQL (ms).
const PG_HORIZON: i64 = 30_000;

/// A pass's work, computed on a snapshot.
pub(crate) struct Fold {
    from: i64,
    to: i64,
    stories: Vec<(ConversationId, Story)>,
    pub events: u64,
}

fn cursor(tx: &mut Tx<'_>, lock: bool) -> Result<i64> {
    let lock = if lock {
        tx.c.dialect().for_update()
    } else {
        ""
    };
    Ok(tx
        .c
        .query_opt(
            &format!("SELECT value FROM store_settings WHERE name = $1{lock}"),
            &[CURSOR.into()],
        )?
        .map(|r| r.text("value"))
        .transpose()?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}

/// The next up to `limit` events after the cursor, folded into their conversations'
/// stories; `None` when there is nothing to fold.
pub(crate) fn prepare(tx: &mut Tx<'_>, limit: u32, now: Timestamp) -> Result<Option<Fold>> {
    let from = cursor(tx, false)?;
    let mut events = tx.events(None, from, limit)?;
    if tx.c.dialect() == Dialect::Postgres {
        let ripe = events
            .iter()
            .position(|e| e.event.at.0 > now.0 - PG_HORIZON)
            .unwrap_or(events.len());
        events.truncate(ripe);
    }
    let Some(to) = events.last().map(|e| e.id) else {
        return Ok(None);
    };
    let mut stories: Vec<(ConversationId, Story)> = Vec::new();
    let mut at: HashMap<ConversationId, usize> = HashMap::new();
    for e in &events {
        let Some(conv) = e.conversation else { continue };
        if !relais_core::kpi::tells(e.event.kind) {
            continue;
        }
        let i = match at.get(&conv) {
            Some(i) => *i,
            None => {
                let kept =
                    tx.c.query_opt(
                        &format!(
                            "SELECT {COLS} FROM conversation_facts WHERE conversation_id = $1"
                        ),
                        &[conv.0.into()],
                    )?
                    .map(|r| story_from(&r, 0))
                    .transpose()?
                    .unwrap_or_default();
                stories.push((conv, kept));
                at.insert(conv, stories.len() - 1);
                stories.len() - 1
            }
        };
        stories[i].1.apply(&e.event);
    }
    Ok(Some(Fold {
        from,
        to,
        stories,
        events: events.len() as u64,
    }))
}

/// Saves a pass: `false` (nothing written) when another pass moved the cursor since.
pub(crate) fn commit(tx: &mut Tx<'_>, fold: &Fold, now: Timestamp) -> Result<bool> {
    if cursor(tx, true)? != fold.from {
        return Ok(false);
    }
    for (conv, story) in &fold.stories {
        save(tx, *conv, story)?;
    }
    tx.c.execute(
        "INSERT INTO store_settings (name, value, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO UPDATE SET value = $2, updated_at = $3",
        &[CURSOR.into(), fold.to.to_string().into(), now.0.into()],
    )?;
    Ok(true)
}

fn save(tx: &mut Tx<'_>, conv: ConversationId, s: &Story) -> Result<()> {
    let flows = if s.flows.is_empty() {
        "[]".to_owned()
    } else {
        serde_json::to_string(&s.flows)?
    };
    let params: Vec<Val> = vec![
        conv.0.into(),
        s.started.into(),
        s.escalated.as_ref().map(|e| e.0).into(),
        s.escalated.as_ref().map(|e| e.1.as_str()).into(),
        s.team.as_deref().into(),
        s.agent_reply.into(),
        s.solved.map(|x| x.0).into(),
        i64::from(s.solved.is_some_and(|x| x.1)).into(),
        i64::from(s.human).into(),
        i64::from(s.csat_sent).into(),
        s.csat.into(),
        flows.into(),
    ];
    tx.c.execute(
        "INSERT INTO conversation_facts (conversation_id, started_at, escalated_at, reason, team, \
         agent_reply_at, solved_at, solved_auto, human, csat_sent, csat, flows) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT (conversation_id) DO UPDATE SET started_at = excluded.started_at, \
         escalated_at = excluded.escalated_at, reason = excluded.reason, team = excluded.team, \
         agent_reply_at = excluded.agent_reply_at, solved_at = excluded.solved_at, \
         solved_auto = excluded.solved_auto, human = excluded.human, csat_sent = excluded.csat_sent, \
         csat = excluded.csat, flows = excluded.flows",
        &params,
    )?;
    Ok(())
}

/// A kept story from a row whose [`COLS`] start at column `at` (by position: a report
/// reads a million of them).
fn story_from(r: &Row, at: usize) -> Result<Story> {
    let flows = r.opt_str(at + 10)?.unwrap_or("[]");
    Ok(Story {
        started: r.opt_int(at)?,
        escalated: match r.opt_int(at + 1)? {
            Some(t) => Some((t, r.opt_str(at + 2)?.unwrap_or_default().to_owned())),
            None => None,
        },
        team: r.opt_str(at + 3)?.map(str::to_owned),
        agent_reply: r.opt_int(at + 4)?,
        solved: match r.opt_int(at + 5)? {
            Some(t) => Some((t, r.int(at + 6)? != 0)),
            None => None,
        },
        human: r.int(at + 7)? != 0,
        csat_sent: r.int(at + 8)? != 0,
        csat: r.opt_int(at + 9)?,
        flows: if flows == "[]" {
            Vec::new()
        } else {
            serde_json::from_str(flows)?
        },
    })
}

/// The stories of the conversations started in the period (and on the channel, with
/// the team, if asked): the kept ones, then the events after the cursor folded in.
pub(crate) fn report(tx: &mut Tx<'_>, q: &ReportQuery) -> Result<Vec<Story>> {
    let folded = cursor(tx, false)?;
    if q.channel.is_none() && q.team.is_none() {
        return whole(tx, q, folded);
    }
    let mut params: Vec<Val> = vec![q.from.0.into(), q.to.0.into()];
    let clauses = q.filters(&mut params);
    let cols: String = COLS
        .split(", ")
        .map(|c| format!("f.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    let rows = tx.c.query(
        &format!(
            "SELECT v.id, f.conversation_id AS kept, {cols} FROM conversations v \
             LEFT JOIN conversation_facts f ON f.conversation_id = v.id \
             WHERE v.created_at >= $1 AND v.created_at < $2{clauses}"
        ),
        &params,
    )?;
    let mut stories: Vec<Story> = Vec::with_capacity(rows.len());
    let mut at: HashMap<i64, usize> = HashMap::with_capacity(rows.len());
    for r in &rows {
        at.insert(r.int(0)?, stories.len());
        stories.push(if r.opt_int(1)?.is_some() {
            story_from(r, 2)?
        } else {
            Story::default()
        });
    }
    for e in tx.report_tail(folded, q)? {
        if let Some(i) = e.conversation.and_then(|c| at.get(&c.0)) {
            stories[*i].apply(&e.event);
        }
    }
    Ok(stories)
}

/// A report without filters: the kept stories by when they started (no join), then
/// every event after the cursor folded in; stories of conversations that started
/// outside the period have no start in it and are left out by the KPIs.
fn whole(tx: &mut Tx<'_>, q: &ReportQuery, folded: i64) -> Result<Vec<Story>> {
    // A period that covers much of what is kept reads faster straight through the
    // table than by the index and a lookup per row (a year of a million: 0.7 s against
    // 0.95 s); `+started_at` keeps SQLite off the index. PostgreSQL chooses itself.
    // Two statements: SQLite finds a MIN or a MAX alone at one end of the index.
    let first =
        tx.c.query_one("SELECT MIN(started_at) FROM conversation_facts", &[])?
            .opt_int(0)?;
    let last =
        tx.c.query_one("SELECT MAX(started_at) FROM conversation_facts", &[])?
            .opt_int(0)?;
    let most = match (first, last) {
        (Some(first), Some(last)) if last > first => {
            let covered = q.to.0.min(last) - q.from.0.max(first);
            covered as f64 / (last - first) as f64 > 0.25
        }
        _ => false,
    };
    let column = if most && tx.c.dialect() == Dialect::Sqlite {
        "+started_at"
    } else {
        "started_at"
    };
    let rows = tx.c.query(
        &format!(
            "SELECT conversation_id, {COLS} FROM conversation_facts \
             WHERE {column} >= $1 AND {column} < $2"
        ),
        &[q.from.0.into(), q.to.0.into()],
    )?;
    let mut stories: Vec<Story> = Vec::with_capacity(rows.len());
    let mut at: HashMap<i64, usize> = HashMap::with_capacity(rows.len());
    for r in &rows {
        at.insert(r.int(0)?, stories.len());
        stories.push(story_from(r, 1)?);
    }
    drop(rows);
    let mut after = folded;
    loop {
        let page = tx.events(None, after, 50_000)?;
        for e in &page {
            let Some(c) = e.conversation else { continue };
            if !relais_core::kpi::tells(e.event.kind) {
                continue;
            }
            let i = *at.entry(c.0).or_insert_with(|| {
                stories.push(Story::default());
                stories.len() - 1
            });
            stories[i].apply(&e.event);
        }
        match page.last() {
            Some(e) if page.len() == 50_000 => after = e.id,
            _ => return Ok(stories),
        }
    }
}

impl ReportQuery {
    /// The report's filters on the conversations (`v`) as SQL, their values pushed
    /// after `params`' (numbered in order of first appearance).
    pub(crate) fn filters(&self, params: &mut Vec<Val>) -> String {
        let mut clauses = String::new();
        if let Some(ch) = &self.channel {
            params.push(ch.as_str().into());
            clauses.push_str(&format!(" AND v.channel_id = ${}", params.len()));
        }
        if let Some(t) = &self.team {
            params.push(t.as_str().into());
            clauses.push_str(&format!(" AND v.team = ${}", params.len()));
        }
        clauses
    }
}

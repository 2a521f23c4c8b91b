//! Schema migrations, one list per dialect with the same version numbers (a test checks
//! it). They run at start, inside one transaction; a database migrated by a newer
//! binary is refused rather than misread.

use crate::sql::{Conn, Dialect, Val};
use crate::{Error, Result};

/// One schema change.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

pub const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("../migrations/sqlite/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "flows_consent",
        sql: include_str!("../migrations/sqlite/0002_flows_consent.sql"),
    },
    Migration {
        version: 3,
        name: "handoff",
        sql: include_str!("../migrations/sqlite/0003_handoff.sql"),
    },
    Migration {
        version: 4,
        name: "webhooks",
        sql: include_str!("../migrations/sqlite/0004_webhooks.sql"),
    },
    Migration {
        version: 5,
        name: "activity",
        sql: include_str!("../migrations/sqlite/0005_activity.sql"),
    },
    Migration {
        version: 6,
        name: "queues",
        sql: include_str!("../migrations/sqlite/0006_queues.sql"),
    },
    Migration {
        version: 7,
        name: "dedupe_sender",
        sql: include_str!("../migrations/sqlite/0007_dedupe_sender.sql"),
    },
    Migration {
        version: 8,
        name: "totp",
        sql: include_str!("../migrations/sqlite/0008_totp.sql"),
    },
    Migration {
        version: 9,
        name: "channels",
        sql: include_str!("../migrations/sqlite/0009_channels.sql"),
    },
    Migration {
        version: 10,
        name: "window",
        sql: include_str!("../migrations/sqlite/0010_window.sql"),
    },
    Migration {
        version: 11,
        name: "outbox_head",
        sql: include_str!("../migrations/sqlite/0011_outbox_head.sql"),
    },
    Migration {
        version: 12,
        name: "media",
        sql: include_str!("../migrations/sqlite/0012_media.sql"),
    },
    Migration {
        version: 13,
        name: "channel_config",
        sql: include_str!("../migrations/sqlite/0013_channel_config.sql"),
    },
    Migration {
        version: 14,
        name: "visitor_seen",
        sql: include_str!("../migrations/sqlite/0014_visitor_seen.sql"),
    },
    Migration {
        version: 15,
        name: "workspace",
        sql: include_str!("../migrations/sqlite/0015_workspace.sql"),
    },
    Migration {
        version: 16,
        name: "reports",
        sql: include_str!("../migrations/sqlite/0016_reports.sql"),
    },
    Migration {
        version: 17,
        name: "audit",
        sql: include_str!("../migrations/sqlite/0017_audit.sql"),
    },
    Migration {
        version: 18,
        name: "privacy",
        sql: include_str!("../migrations/sqlite/0018_privacy.sql"),
    },
    Migration {
        version: 19,
        name: "articles",
        sql: include_str!("../migrations/sqlite/0019_articles.sql"),
    },
    Migration {
        version: 20,
        name: "templates",
        sql: include_str!("../migrations/sqlite/0020_templates.sql"),
    },
    Migration {
        version: 21,
        name: "page_watchers",
        sql: include_str!("../migrations/sqlite/0021_page_watchers.sql"),
    },
];

pub const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("../migrations/postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "flows_consent",
        sql: include_str!("../migrations/postgres/0002_flows_consent.sql"),
    },
    Migration {
        version: 3,
        name: "handoff",
        sql: include_str!("../migrations/postgres/0003_handoff.sql"),
    },
    Migration {
        version: 4,
        name: "webhooks",
        sql: include_str!("../migrations/postgres/0004_webhooks.sql"),
    },
    Migration {
        version: 5,
        name: "activity",
        sql: include_str!("../migrations/postgres/0005_activity.sql"),
    },
    Migration {
        version: 6,
        name: "queues",
        sql: include_str!("../migrations/postgres/0006_queues.sql"),
    },
    Migration {
        version: 7,
        name: "dedupe_sender",
        sql: include_str!("../migrations/postgres/0007_dedupe_sender.sql"),
    },
    Migration {
        version: 8,
        name: "totp",
        sql: include_str!("../migrations/postgres/0008_totp.sql"),
    },
    Migration {
        version: 9,
        name: "channels",
        sql: include_str!("../migrations/postgres/0009_channels.sql"),
    },
    Migration {
        version: 10,
        name: "window",
        sql: include_str!("../migrations/postgres/0010_window.sql"),
    },
    Migration {
        version: 11,
        name: "outbox_head",
        sql: include_str!("../migrations/postgres/0011_outbox_head.sql"),
    },
    Migration {
        version: 12,
        name: "media",
        sql: include_str!("../migrations/postgres/0012_media.sql"),
    },
    Migration {
        version: 13,
        name: "channel_config",
        sql: include_str!("../migrations/postgres/0013_channel_config.sql"),
    },
    Migration {
        version: 14,
        name: "visitor_seen",
        sql: include_str!("../migrations/postgres/0014_visitor_seen.sql"),
    },
    Migration {
        version: 15,
        name: "workspace",
        sql: include_str!("../migrations/postgres/0015_workspace.sql"),
    },
    Migration {
        version: 16,
        name: "reports",
        sql: include_str!("../migrations/postgres/0016_reports.sql"),
    },
    Migration {
        version: 17,
        name: "audit",
        sql: include_str!("../migrations/postgres/0017_audit.sql"),
    },
    Migration {
        version: 18,
        name: "privacy",
        sql: include_str!("../migrations/postgres/0018_privacy.sql"),
    },
    Migration {
        version: 19,
        name: "articles",
        sql: include_str!("../migrations/postgres/0019_articles.sql"),
    },
    Migration {
        version: 20,
        name: "templates",
        sql: include_str!("../migrations/postgres/0020_templates.sql"),
    },
    Migration {
        version: 21,
        name: "page_watchers",
        sql: include_str!("../migrations/postgres/0021_page_watchers.sql"),
    },
];

pub fn for_dialect(d: Dialect) -> &'static [Migration] {
    match d {
        Dialect::Sqlite => SQLITE,
        Dialect::Postgres => POSTGRES,
    }
}

/// Applies the missing migrations. Call inside a transaction.
pub(crate) fn run(conn: &mut dyn Conn) -> Result<Vec<i64>> {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let dialect = conn.dialect();
    if dialect == Dialect::Postgres {
        // Nodes starting together migrate one at a time.
        conn.query("SELECT pg_advisory_xact_lock(7242550)", &[])?;
    }
    conn.batch(
        "CREATE TABLE IF NOT EXISTS relais_migrations (
            version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
    )?;
    let list = for_dialect(dialect);
    let applied: Vec<i64> = conn
        .query(
            "SELECT version FROM relais_migrations ORDER BY version",
            &[],
        )?
        .iter()
        .map(|r| r.int(0))
        .collect::<Result<_>>()?;
    if let Some(unknown) = applied
        .iter()
        .find(|v| !list.iter().any(|m| m.version == **v))
    {
        return Err(Error::Open(format!(
            "the database has schema version {unknown}, which this relais binary does not know; \
             use a newer binary"
        )));
    }
    let mut done = Vec::new();
    for m in list.iter().filter(|m| !applied.contains(&m.version)) {
        conn.batch(m.sql).map_err(|e| {
            Error::Open(format!("migration {} ({}) failed: {e}", m.version, m.name))
        })?;
        conn.execute(
            "INSERT INTO relais_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            &[Val::Int(m.version), m.name.into(), Val::Int(now_ms)],
        )?;
        done.push(m.version);
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_dialects_have_the_same_versions_in_order() {
        let v = |l: &[Migration]| l.iter().map(|m| (m.version, m.name)).collect::<Vec<_>>();
        assert_eq!(v(SQLITE), v(POSTGRES));
        for (i, m) in SQLITE.iter().enumerate() {
            assert_eq!(
                m.version,
                i as i64 + 1,
                "versions are 1, 2, 3… without gaps"
            );
        }
    }

    #[test]
    fn both_dialects_create_the_same_tables() {
        // The tables each migration creates or alters, and the columns it adds.
        let tables = |sql: &str| {
            let mut t: Vec<String> = sql
                .lines()
                .filter_map(|l| {
                    l.strip_prefix("CREATE TABLE ")
                        .or_else(|| l.strip_prefix("ALTER TABLE "))
                        .or_else(|| l.strip_prefix("CREATE INDEX "))
                })
                .map(|l| {
                    let mut w = l.split_whitespace();
                    let table = w.next().unwrap_or("");
                    match (w.next(), w.next(), w.next()) {
                        (Some("ADD"), Some("COLUMN"), Some(col)) => format!("{table}.{col}"),
                        _ => table.to_owned(),
                    }
                })
                .collect();
            t.sort();
            t
        };
        for (a, b) in SQLITE.iter().zip(POSTGRES) {
            assert_eq!(tables(a.sql), tables(b.sql), "migration {}", a.version);
            assert!(!tables(a.sql).is_empty());
        }
    }
}

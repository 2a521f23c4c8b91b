//! Teams (from teams.yaml and the API) and their members, and canned responses.

use super::*;
use crate::sql::ConnExt;
use crate::tx::Tx;
use crate::{Error, Result};
use relais_core::Timestamp;
use relais_core::id::AgentId;

/// Teams and agents from teams.yaml: teams upserted, missing agents created without a
/// password (an admin sets one), each listed agent's teams replaced.
pub(crate) fn sync_teams(
    tx: &mut Tx<'_>,
    teams: &[TeamSpec],
    members: &[MemberSpec],
    now: Timestamp,
) -> Result<()> {
    for t in teams {
        // Hours of file teams live in the file: the stored ones (API teams) are kept.
        tx.c.execute(
            "INSERT INTO teams (id, name, assignment, capacity, updated_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (id) DO UPDATE SET name = $2, assignment = $3, capacity = $4, updated_at = $5",
            &[
                t.id.as_str().into(),
                t.name.as_str().into(),
                t.assignment.as_str().into(),
                t.capacity.into(),
                now.0.into(),
            ],
        )?;
    }
    for m in members {
        let agent = match tx.agent_by_email(&m.email)? {
            Some((a, _)) => a,
            None => tx.insert_agent(&NewAgent {
                email: m.email.clone(),
                name: m.name.clone(),
                role: m.role,
                password_hash: None,
                capacity: 5,
                created_at: now,
            })?,
        };
        set_members_of_agent(tx, agent.id, &m.teams)?;
    }
    Ok(())
}

pub(crate) fn upsert_team(tx: &mut Tx<'_>, t: &TeamSpec, now: Timestamp) -> Result<()> {
    tx.c.execute(
        "INSERT INTO teams (id, name, assignment, capacity, updated_at, hours, holidays) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (id) DO UPDATE SET name = $2, assignment = $3, capacity = $4, updated_at = $5, hours = $6, holidays = $7",
        &[
            t.id.as_str().into(),
            t.name.as_str().into(),
            t.assignment.as_str().into(),
            t.capacity.into(),
            now.0.into(),
            t.hours.as_ref().map(serde_json::Value::to_string).into(),
            (!t.holidays.is_empty())
                .then(|| serde_json::json!(t.holidays).to_string())
                .into(),
        ],
    )?;
    Ok(())
}

pub(crate) fn set_members_of_agent(
    tx: &mut Tx<'_>,
    agent: AgentId,
    teams: &[String],
) -> Result<()> {
    if tx.agent(agent)?.is_none() {
        return Err(Error::NotFound(format!("agent {agent}")));
    }
    tx.c.execute(
        "DELETE FROM team_members WHERE agent_id = $1",
        &[agent.0.into()],
    )?;
    for t in teams {
        if tx.team_row(t)?.is_none() {
            return Err(Error::NotFound(format!("team {t}")));
        }
        tx.c.execute(
            "INSERT INTO team_members (team_id, agent_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[t.as_str().into(), agent.0.into()],
        )?;
    }
    Ok(())
}

pub(crate) fn teams(tx: &mut Tx<'_>) -> Result<Vec<TeamInfo>> {
    let rows = tx.c.query(
        "SELECT id, name, assignment, capacity, hours, holidays FROM teams ORDER BY id",
        &[],
    )?;
    let mut out = Vec::new();
    for r in rows {
        let id = r.text(0)?;
        let members =
            tx.c.query(
                "SELECT agent_id FROM team_members WHERE team_id = $1 ORDER BY agent_id",
                &[id.as_str().into()],
            )?
            .iter()
            .map(|m| m.int(0).map(AgentId))
            .collect::<Result<Vec<_>>>()?;
        out.push(TeamInfo {
            team: TeamSpec {
                id,
                name: r.text(1)?,
                assignment: r.text(2)?,
                capacity: r.int(3)?,
                hours: match r.opt_text(4)? {
                    Some(h) => Some(serde_json::from_str(&h)?),
                    None => None,
                },
                holidays: match r.opt_text(5)? {
                    Some(h) => serde_json::from_str(&h)?,
                    None => Vec::new(),
                },
            },
            members,
        });
    }
    Ok(out)
}

fn canned_from(r: &crate::sql::Row) -> Result<Canned> {
    Ok(Canned {
        id: r.int(0)?,
        shortcut: r.text(1)?,
        title: r.text(2)?,
        body: r.text(3)?,
        language: r.opt_text(4)?,
    })
}

pub(crate) fn canned(tx: &mut Tx<'_>) -> Result<Vec<Canned>> {
    tx.c.query(
        "SELECT id, shortcut, title, body, language FROM canned_responses ORDER BY shortcut, language",
        &[],
    )?
    .iter()
    .map(canned_from)
    .collect()
}

/// Creates (`id` None) or replaces a canned response. Shortcuts are unique.
pub(crate) fn save_canned(
    tx: &mut Tx<'_>,
    id: Option<i64>,
    c: &Canned,
    now: Timestamp,
) -> Result<Canned> {
    let taken =
        tx.c.query_opt(
            "SELECT id FROM canned_responses WHERE shortcut = $1",
            &[c.shortcut.as_str().into()],
        )?
        .map(|r| r.int(0))
        .transpose()?;
    if taken.is_some() && taken != id {
        return Err(Error::AlreadyExists(format!(
            "canned response /{}",
            c.shortcut
        )));
    }
    let r = match id {
        None => tx.c.query_one(
            "INSERT INTO canned_responses (shortcut, title, body, language, created_at) VALUES ($1, $2, $3, $4, $5) \
             RETURNING id, shortcut, title, body, language",
            &[c.shortcut.as_str().into(), c.title.as_str().into(), c.body.as_str().into(), c.language.as_ref().into(), now.0.into()],
        )?,
        Some(id) => tx
            .c
            .query_opt(
                "UPDATE canned_responses SET shortcut = $1, title = $2, body = $3, language = $4 WHERE id = $5 \
                 RETURNING id, shortcut, title, body, language",
                &[c.shortcut.as_str().into(), c.title.as_str().into(), c.body.as_str().into(), c.language.as_ref().into(), id.into()],
            )?
            .ok_or_else(|| Error::NotFound(format!("canned response {id}")))?,
    };
    canned_from(&r)
}

pub(crate) fn delete_canned(tx: &mut Tx<'_>, id: i64) -> Result<bool> {
    Ok(tx
        .c
        .execute("DELETE FROM canned_responses WHERE id = $1", &[id.into()])?
        == 1)
}

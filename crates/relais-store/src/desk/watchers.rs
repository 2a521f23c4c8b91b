//! Collision detection (SPEC §9): which agents have a conversation's page open and who
//! is typing there, kept in the database so that agents on different nodes see each
//! other. Each open page beats every few seconds; a row whose `until_ms` has passed
//! no longer counts and is deleted by the next beat on any node.

use crate::Result;
use crate::model::{PageBeat, PageWatcher};
use crate::sql::Val;
use crate::tx::Tx;
use relais_core::Timestamp;
use relais_core::id::{AgentId, ChannelId, ConversationId};

/// Records the beat and answers the other agents on the same page, by name.
pub(crate) fn watch_page(tx: &mut Tx<'_>, beat: &PageBeat) -> Result<Vec<PageWatcher>> {
    let now = beat.now.0;
    tx.c.execute(
        "DELETE FROM page_watchers WHERE until_ms <= $1",
        &[Val::Int(now)],
    )?;
    let typing_until = if beat.typing { now + beat.typing_ms } else { 0 };
    tx.c.execute(
        "INSERT INTO page_watchers (conversation_id, agent_id, until_ms, typing_until_ms) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (conversation_id, agent_id) DO UPDATE \
         SET until_ms = excluded.until_ms, typing_until_ms = CASE \
         WHEN excluded.typing_until_ms > page_watchers.typing_until_ms \
         THEN excluded.typing_until_ms ELSE page_watchers.typing_until_ms END",
        &[
            beat.conversation.0.into(),
            beat.agent.0.into(),
            Val::Int(now + beat.here_ms),
            Val::Int(typing_until),
        ],
    )?;
    let rows = tx.c.query(
        "SELECT a.name, w.typing_until_ms FROM page_watchers w \
         JOIN agents a ON a.id = w.agent_id \
         WHERE w.conversation_id = $1 AND w.agent_id <> $2 AND w.until_ms > $3",
        &[
            beat.conversation.0.into(),
            beat.agent.0.into(),
            Val::Int(now),
        ],
    )?;
    let mut others = rows
        .iter()
        .map(|r| {
            Ok(PageWatcher {
                name: r.text(0)?,
                typing: r.int(1)? > now,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    // A handful of rows: sorted here, not by a temporary B-tree.
    others.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(others)
}

/// The agent closed the page.
pub(crate) fn leave_page(
    tx: &mut Tx<'_>,
    conversation: ConversationId,
    agent: AgentId,
) -> Result<()> {
    tx.c.execute(
        "DELETE FROM page_watchers WHERE conversation_id = $1 AND agent_id = $2",
        &[conversation.0.into(), agent.0.into()],
    )?;
    Ok(())
}

/// Where agents are typing now: each conversation's (channel, address), for the web
/// chat pages connected to other nodes.
pub(crate) fn typing_now(tx: &mut Tx<'_>, now: Timestamp) -> Result<Vec<(ChannelId, String)>> {
    let rows = tx.c.query(
        "SELECT c.channel_id, c.address FROM page_watchers w \
         JOIN conversations c ON c.id = w.conversation_id \
         WHERE w.typing_until_ms > $1 AND w.until_ms > $1",
        &[Val::Int(now.0)],
    )?;
    rows.iter()
        .map(|r| Ok((ChannelId(r.text("channel_id")?), r.text("address")?)))
        .collect()
}

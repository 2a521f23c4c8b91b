//! The bot's step, taken before the write batch. On SQLite one thread writes for the
//! whole process, so the step (flow engine, templates, matching) runs first on a read
//! snapshot, in the caller's task, and the writer only checks the snapshot is still
//! current and writes what was decided.
//!
//! Stale snapshots are caught inside the batch, before anything is written from them:
//! the conversation and the contact are loaded again in the transaction (the write
//! needs them anyway) and compared whole with what the step saw, and every queue probe
//! the step made is asked again and compared with its answer. Any difference, and the
//! step runs again inside the transaction, as it would have without a snapshot. The
//! conversation's lane keeps its messages in order, so a difference means something
//! else touched it (an agent, a timer, another node).

use crate::Result;
use crate::model::Inbound;
use crate::queue::Probe;
use crate::tx::Tx;
use relais_core::Timestamp;
use relais_core::contact::Contact;
use relais_core::conversation::{Conversation, Priority};
use relais_core::decision::{
    ConversationHandler, Decision, HandlerInput, QueueInfo, QueueProbe, Trigger,
};
use relais_core::event::Actor;
use relais_core::id::MessageId;
use relais_core::step;
use relais_core::ticket::Status;
use std::cell::RefCell;

/// A decision taken on a snapshot, and what it was taken on.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    /// The conversation as the step saw it: after the customer's message moved its
    /// ticket and took its sequence number.
    conversation: Conversation,
    contact: Contact,
    /// Every queue probe the step made, with its answer.
    probes: Vec<(Option<String>, Priority, QueueInfo)>,
    decision: Decision,
}

/// Takes the bot's step for `inbound` on a read snapshot, when the conversation exists,
/// the bot owns it and the handler allows it; `None` leaves the step to the batch.
pub(crate) fn prepare(
    tx: &mut Tx<'_>,
    inbound: &Inbound,
    handler: &dyn ConversationHandler,
) -> Result<Option<Prepared>> {
    if !handler.decides_on_snapshot() {
        return Ok(None);
    }
    let Some(contact) = tx.contact_by_identity(&inbound.channel, &inbound.address)? else {
        return Ok(None);
    };
    let Some(mut conversation) = tx.live_conversation(&inbound.channel, contact.id)? else {
        return Ok(None);
    };
    if conversation.status != Status::Bot {
        return Ok(None);
    }
    // As the batch will: the customer's message moves the ticket (a bot-owned one stays
    // with the bot).
    if step::customer_wrote(
        &mut conversation,
        Actor::Contact(contact.id),
        inbound.received_at,
    )
    .is_err()
        || conversation.status != Status::Bot
    {
        return Ok(None);
    }
    conversation.last_seq += 1;
    let now = inbound.received_at;
    let probe = Recording {
        probe: Probe::new(tx, now),
        calls: RefCell::new(Vec::new()),
    };
    let decision = handler.decide(&HandlerInput {
        conversation: &conversation,
        contact: &contact,
        trigger: Trigger::Message {
            id: MessageId(0),
            text: &inbound.text,
            first: false,
            button: inbound.button.as_deref(),
        },
        now,
        queue: &probe,
    });
    let probes = probe.calls.into_inner();
    Ok(Some(Prepared {
        conversation,
        contact,
        probes,
        decision,
    }))
}

impl Prepared {
    /// The prepared decision, if the snapshot it was taken on is still what the batch
    /// sees: the same conversation (as the step would see it), contact and queue answers.
    pub(crate) fn still_current(
        &self,
        tx: &mut Tx<'_>,
        conversation: &Conversation,
        contact: &Contact,
        now: Timestamp,
    ) -> Result<Option<Replay<'_>>> {
        if *conversation != self.conversation || *contact != self.contact {
            return Ok(None);
        }
        let probe = Probe::new(tx, now);
        for (team, priority, answer) in &self.probes {
            if probe.info(team.as_deref(), *priority).ok() != Some(*answer) {
                return Ok(None);
            }
        }
        Ok(Some(Replay(&self.decision)))
    }
}

/// A handler that answers with a decision already taken.
pub(crate) struct Replay<'p>(&'p Decision);

impl ConversationHandler for Replay<'_> {
    fn decide(&self, _: &HandlerInput<'_>) -> Decision {
        self.0.clone()
    }
}

/// A queue probe that remembers what it was asked and answered.
struct Recording<'p, 't> {
    probe: Probe<'p, 't>,
    calls: RefCell<Vec<(Option<String>, Priority, QueueInfo)>>,
}

impl std::fmt::Debug for Recording<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recording").finish_non_exhaustive()
    }
}

impl QueueProbe for Recording<'_, '_> {
    fn probe(&self, team: Option<&str>, priority: Priority) -> QueueInfo {
        let answer = self.probe.probe(team, priority);
        self.calls
            .borrow_mut()
            .push((team.map(str::to_owned), priority, answer));
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqlite::{SqliteOptions, SqliteStore};
    use crate::{Admin, Ingested, NewChannel, Pipeline, usecase};
    use relais_core::decision::{Handoff, Reply};
    use relais_core::id::ChannelId;
    use relais_core::lifecycle::Lifecycle;
    use relais_core::ticket::Action;
    use serde_json::json;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Counts its steps and says what it saw; "agent" hands over to `support`, with
    /// the queue position in the reply.
    #[derive(Default)]
    struct Counting(AtomicUsize);

    impl ConversationHandler for Counting {
        fn decide(&self, input: &HandlerInput<'_>) -> Decision {
            self.0.fetch_add(1, Ordering::SeqCst);
            let count = input.conversation.bot_state["count"].as_i64().unwrap_or(0) + 1;
            let text = match input.trigger {
                Trigger::Message { text, .. } => text,
                _ => "",
            };
            let mut d = Decision {
                bot_state: Some(json!({ "count": count })),
                ..Decision::default()
            };
            if text == "agent" {
                let info = input.queue.probe(Some("support"), Priority::Normal);
                d.replies
                    .push(Reply::text(format!("position {}", info.position)));
                d.ticket = Some(Action::Escalate);
                d.handoff = Some(Handoff {
                    team: Some("support".into()),
                    priority: Priority::Normal,
                    reason: "requested".into(),
                    note: None,
                    after_hours: false,
                    fields: json!({}),
                    language: None,
                });
            } else {
                d.replies.push(Reply::text(format!(
                    "seq {} count {count}",
                    input.conversation.last_seq
                )));
            }
            d
        }

        fn decides_on_snapshot(&self) -> bool {
            true
        }
    }

    const T0: Timestamp = Timestamp(1_800_000_000_000);

    fn inbound(who: &str, text: &str, at: i64) -> Inbound {
        Inbound {
            channel: ChannelId("api".into()),
            address: who.into(),
            external_id: None,
            text: text.into(),
            contact_name: None,
            language: None,
            received_at: Timestamp(T0.0 + at),
            replies_in_band: true,
            button: None,
            payload: None,
            opens_window: false,
            media: None,
            thread: Vec::new(),
            attachments: Vec::new(),
        }
    }

    async fn store() -> (SqliteStore, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::sqlite::open(SqliteOptions::new(dir.path().join("s.db"))).unwrap();
        store
            .create_channel(NewChannel {
                id: ChannelId("api".into()),
                kind: "rest".into(),
                name: "API".into(),
                token_hash: None,
                callback_url: None,
                callback_secret: None,
                created_at: T0,
            })
            .await
            .unwrap();
        (store, dir)
    }

    async fn prepared(store: &SqliteStore, i: &Inbound, h: &Arc<Counting>) -> Prepared {
        let (i, h) = (i.clone(), h.clone());
        store
            .read(move |tx| prepare(tx, &i, h.as_ref()))
            .await
            .unwrap()
            .expect("an existing bot conversation is stepped on the snapshot")
    }

    async fn commit(store: &SqliteStore, i: &Inbound, h: &Arc<Counting>, p: Prepared) -> Ingested {
        let (i, h) = (i.clone(), h.clone());
        store
            .write(move |tx| usecase::ingest(tx, &i, h.as_ref(), &Lifecycle::default(), Some(&p)))
            .await
            .unwrap()
    }

    fn text(i: &Ingested) -> Vec<&str> {
        i.replies.iter().map(|m| m.text.as_str()).collect()
    }

    #[tokio::test]
    async fn a_current_snapshot_is_written_as_decided_and_a_stale_one_decided_again() {
        let (store, _dir) = store().await;
        let h = Arc::new(Counting::default());
        let first = inbound("alice", "hi", 0);
        assert!(
            store
                .read({
                    let (i, h) = (first.clone(), h.clone());
                    move |tx| prepare(tx, &i, h.as_ref())
                })
                .await
                .unwrap()
                .is_none(),
            "a first message has no conversation to step on"
        );
        store.ingest(first, h.clone()).await.unwrap();
        assert_eq!(h.0.load(Ordering::SeqCst), 1);

        // Current: the batch writes the snapshot's decision without stepping again.
        let second = inbound("alice", "two", 1);
        let p = prepared(&store, &second, &h).await;
        assert_eq!(h.0.load(Ordering::SeqCst), 2);
        let done = commit(&store, &second, &h, p).await;
        assert_eq!(text(&done), ["seq 3 count 2"]);
        assert_eq!(h.0.load(Ordering::SeqCst), 2, "not stepped again");

        // Stale: another message moved the conversation after the snapshot.
        let late = inbound("alice", "three", 2);
        let stale = prepared(&store, &late, &h).await;
        store
            .ingest(inbound("alice", "between", 2), h.clone())
            .await
            .unwrap();
        let calls = h.0.load(Ordering::SeqCst);
        let done = commit(&store, &late, &h, stale).await;
        assert_eq!(
            text(&done),
            ["seq 7 count 4"],
            "decided on what the batch sees"
        );
        assert_eq!(h.0.load(Ordering::SeqCst), calls + 1);
    }

    #[tokio::test]
    async fn a_queue_answer_that_changed_is_caught() {
        let (store, _dir) = store().await;
        let h = Arc::new(Counting::default());
        for who in ["bob", "carol"] {
            store
                .ingest(inbound(who, "hi", 0), h.clone())
                .await
                .unwrap();
        }
        let ask = inbound("bob", "agent", 3);
        let p = prepared(&store, &ask, &h).await;
        assert_eq!(p.decision.replies[0].text, "position 1");
        // Carol joins the queue first: Bob's snapshot answer is stale.
        let carol = store
            .ingest(inbound("carol", "agent", 2), h.clone())
            .await
            .unwrap();
        assert_eq!(text(&carol), ["position 1"]);
        let done = commit(&store, &ask, &h, p).await;
        assert_eq!(text(&done), ["position 2"]);
    }
}

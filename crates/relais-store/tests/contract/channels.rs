//! Messaging channels in the store: channels.yaml sync, delivery statuses from
//! providers (forward only, early ones kept), the customer-service window's facts,
//! moving a message to a fallback channel, and one contact across phone channels.

use super::*;
use relais_core::id::{ConversationId, MessageId};
use serde_json::json;

fn spec(id: &str, kind: &str, settings: serde_json::Value) -> ChannelSpec {
    ChannelSpec {
        id: ChannelId(id.into()),
        kind: kind.into(),
        token_hash: None,
        settings,
        fallback: None,
        secret_names: json!({}),
        default_flow: None,
    }
}

fn on(channel: &str, address: &str, external: &str, at: Timestamp) -> Inbound {
    Inbound {
        channel: ChannelId(channel.into()),
        replies_in_band: false,
        opens_window: true,
        ..inbound(address, Some(external), "hello", at)
    }
}

pub async fn channels_yaml_syncs_and_a_removed_channel_is_disabled(store: Arc<dyn Store>) {
    let first = store
        .sync_channels(
            vec![
                spec("wa", "whatsapp", json!({ "phone_number_id": "1" })),
                spec("tg", "telegram", json!({})),
            ],
            T0,
        )
        .await
        .unwrap();
    assert_eq!(first.created.len(), 2);
    // The same file again changes nothing; a changed setting updates.
    let again = store
        .sync_channels(
            vec![
                spec("wa", "whatsapp", json!({ "phone_number_id": "1" })),
                spec("tg", "telegram", json!({})),
            ],
            T0,
        )
        .await
        .unwrap();
    assert_eq!(again, ChannelSync::default());
    let changed = store
        .sync_channels(
            vec![spec("wa", "whatsapp", json!({ "phone_number_id": "2" }))],
            T0,
        )
        .await
        .unwrap();
    assert_eq!(changed.updated, vec![ChannelId("wa".into())]);
    assert_eq!(changed.disabled, vec![ChannelId("tg".into())]);
    let all = store.channels().await.unwrap();
    let tg = all.iter().find(|c| c.id.as_str() == "tg").unwrap();
    assert!(!tg.enabled, "disabled, not deleted");
    let wa = all.iter().find(|c| c.id.as_str() == "wa").unwrap();
    assert_eq!(wa.setting("phone_number_id"), Some("2"));
    // A kind never changes.
    let err = store
        .sync_channels(vec![spec("wa", "telegram", json!({}))], T0)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(m) if m.contains("kind")));
    // Back in the file: enabled again.
    let back = store
        .sync_channels(
            vec![
                spec("wa", "whatsapp", json!({ "phone_number_id": "2" })),
                spec("tg", "telegram", json!({})),
            ],
            T0,
        )
        .await
        .unwrap();
    assert_eq!(back.updated, vec![ChannelId("tg".into())]);
}

/// A WhatsApp conversation whose bot reply is queued, then sent as `wamid`.
async fn sent_reply(store: &Arc<dyn Store>, wamid: &str) -> MessageId {
    let h: Arc<dyn ConversationHandler> = Arc::new(GreetingBot::default());
    store
        .ingest(on("wa", "33600000001", "in-1", T0), h)
        .await
        .unwrap();
    let items = store.claim_outbox(claim(T0)).await.unwrap();
    assert_eq!(
        items[0].last_inbound_at,
        Some(T0),
        "the window's start travels with the message"
    );
    store
        .record_attempt(Attempt {
            message: items[0].message,
            at: T0,
            duration_ms: 1,
            outcome: AttemptOutcome::Sent {
                external_id: Some(wamid.into()),
                detail: None,
            },
        })
        .await
        .unwrap();
    items[0].message
}

fn report(id: &str, status: DeliveryStatus) -> StatusReport {
    StatusReport {
        channel: ChannelId("wa".into()),
        external_id: id.into(),
        status,
        detail: None,
        at: T0,
    }
}

pub async fn provider_statuses_move_forward_only_and_early_ones_wait(store: Arc<dyn Store>) {
    store
        .sync_channels(
            vec![spec("wa", "whatsapp", json!({ "phone_number_id": "1" }))],
            T0,
        )
        .await
        .unwrap();
    // `delivered` arrives before the send is recorded: kept.
    let early = store
        .record_statuses(vec![report("wamid.X", DeliveryStatus::Delivered)])
        .await
        .unwrap();
    assert_eq!(early, vec![StatusApplied::Kept]);
    let id = sent_reply(&store, "wamid.X").await;
    let find = || async {
        let msgs = store
            .conversations(Page {
                before: None,
                limit: 10,
            })
            .await
            .unwrap();
        let m = store.messages(msgs[0].conversation.id).await.unwrap();
        m.into_iter().find(|m| m.id == id).unwrap().status
    };
    assert_eq!(
        find().await,
        Some(DeliveryStatus::Delivered),
        "the early status applied"
    );
    let out = store
        .record_statuses(vec![
            report("wamid.X", DeliveryStatus::Read),
            report("wamid.X", DeliveryStatus::Delivered),
            report("wamid.X", DeliveryStatus::Sent),
        ])
        .await
        .unwrap();
    assert_eq!(out[0], StatusApplied::Moved(id, DeliveryStatus::Read));
    assert_eq!(out[1], StatusApplied::Unchanged(id));
    assert_eq!(find().await, Some(DeliveryStatus::Read), "never backwards");
}

pub async fn a_message_moves_to_its_fallback_and_phone_channels_share_the_contact(
    store: Arc<dyn Store>,
) {
    store
        .sync_channels(
            vec![
                spec("wa", "whatsapp", json!({ "phone_number_id": "1" })),
                spec("wa2", "whatsapp", json!({ "phone_number_id": "2" })),
                spec("tg", "telegram", json!({})),
            ],
            T0,
        )
        .await
        .unwrap();
    let h: Arc<dyn ConversationHandler> = Arc::new(GreetingBot::default());
    let a = store
        .ingest(on("wa", "33600000001", "in-1", T0), h.clone())
        .await
        .unwrap();
    // The same number on another phone channel is the same contact.
    let b = store
        .ingest(on("wa2", "+33 6 00 00 00 01", "in-2", T0), h.clone())
        .await
        .unwrap();
    let views = store
        .conversations(Page {
            before: None,
            limit: 10,
        })
        .await
        .unwrap();
    let contact_of = |id: ConversationId| {
        views
            .iter()
            .find(|v| v.conversation.id == id)
            .unwrap()
            .contact
            .id
    };
    assert_eq!(contact_of(a.conversation), contact_of(b.conversation));
    let card = store
        .contact_card(contact_of(a.conversation))
        .await
        .unwrap();
    assert_eq!(card.identities.len(), 2);
    assert_eq!(card.identities[0].last_inbound_at, Some(T0));

    // The queued reply on wa moves to wa2, with an event saying why.
    let item = store
        .claim_outbox(claim(T0))
        .await
        .unwrap()
        .into_iter()
        .find(|i| i.channel.as_str() == "wa")
        .unwrap();
    let moved = store
        .reroute_outbound(
            item.message,
            ChannelId("wa".into()),
            ChannelId("wa2".into()),
            "outside the window".into(),
            T0,
        )
        .await
        .unwrap();
    assert!(moved);
    let again = store.claim_outbox(claim(T0)).await.unwrap();
    let on_wa2 = again.iter().find(|i| i.message == item.message).unwrap();
    assert_eq!((on_wa2.channel.as_str(), on_wa2.attempts), ("wa2", 0));
    assert_eq!(
        on_wa2.address, "+33 6 00 00 00 01",
        "the contact's address there"
    );
    let events = store.events(None, 0, 1000).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.event.kind == EventKind::MessageRerouted
                && e.event.data["reason"] == "outside the window")
    );
    // No address on a Telegram fallback: nothing moves.
    let t = store
        .claim_outbox(claim(T0.plus(Duration::minutes(5))))
        .await
        .unwrap();
    if let Some(i) = t.first() {
        assert!(
            !store
                .reroute_outbound(
                    i.message,
                    i.channel.clone(),
                    ChannelId("tg".into()),
                    "x".into(),
                    T0
                )
                .await
                .unwrap()
        );
    }

    // Two contacts merged: identities and conversations follow; the other is gone.
    let c = store
        .ingest(on("tg", "4242", "in-3", T0), h.clone())
        .await
        .unwrap();
    let views = store
        .conversations(Page {
            before: None,
            limit: 10,
        })
        .await
        .unwrap();
    let tg_contact = views
        .iter()
        .find(|v| v.conversation.id == c.conversation)
        .unwrap()
        .contact
        .id;
    let into = contact_of(a.conversation);
    let merged = store
        .merge_contacts(into, tg_contact, AgentId(1), T0)
        .await
        .unwrap();
    assert_eq!(merged.identities.len(), 3);
    assert!(matches!(
        store.contact_card(tg_contact).await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        store.merge_contacts(into, into, AgentId(1), T0).await,
        Err(Error::Conflict(_))
    ));
}

/// An attachment is written with its message, leased for fetching once at a time,
/// retried, kept, shown only to those who may see the conversation, and erased with
/// the contact.
pub async fn attachments_are_fetched_once_kept_and_erased_with_the_contact(store: Arc<dyn Store>) {
    store
        .sync_channels(
            vec![spec("wa", "whatsapp", json!({ "phone_number_id": "1" }))],
            T0,
        )
        .await
        .unwrap();
    let mut photo = on("wa", "33600000001", "in-1", T0);
    photo.media = Some(InboundMedia {
        kind: "image".into(),
        provider_ref: "MEDIA1".into(),
        mime_type: Some("image/jpeg".into()),
        filename: None,
    });
    let h: Arc<dyn ConversationHandler> = Arc::new(GreetingBot::default());
    let done = store.ingest(photo.clone(), h.clone()).await.unwrap();
    // A redelivery stores no second attachment.
    store.ingest(photo, h).await.unwrap();
    let lease = T0.plus(Duration::minutes(5));
    let jobs = store.claim_media(T0, lease, 8).await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].provider_ref, "MEDIA1");
    assert!(
        store.claim_media(T0, lease, 8).await.unwrap().is_empty(),
        "leased once"
    );
    store
        .settle_media(
            jobs[0].id,
            MediaOutcome::Retry {
                at: T0.plus(Duration::seconds(2)),
                detail: "503".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        store.next_media_due().await.unwrap(),
        Some(T0.plus(Duration::seconds(2)))
    );
    let again = store
        .claim_media(T0.plus(Duration::seconds(2)), lease, 8)
        .await
        .unwrap();
    assert_eq!((again[0].id, again[0].attempts), (jobs[0].id, 1));
    store
        .settle_media(
            again[0].id,
            MediaOutcome::Stored {
                content_base64: "/9j/".into(),
                mime_type: None,
                size: 3,
            },
        )
        .await
        .unwrap();
    let listed = store.conversation_media(done.conversation).await.unwrap();
    assert_eq!(listed[0].state, "stored");
    assert_eq!(
        listed[0].mime_type.as_deref(),
        Some("image/jpeg"),
        "the provider's type kept"
    );
    let admin = Viewer {
        agent: AgentId(1),
        role: Role::Admin,
    };
    let (_, content) = store.media_for(admin, listed[0].id).await.unwrap().unwrap();
    assert_eq!(content.as_deref(), Some("/9j/"));
    let stranger = Viewer {
        agent: AgentId(99),
        role: Role::Agent,
    };
    assert!(
        store
            .media_for(stranger, listed[0].id)
            .await
            .unwrap()
            .is_none()
    );
    let contact = store
        .conversation(done.conversation)
        .await
        .unwrap()
        .unwrap()
        .contact
        .id;
    store.erase_contact(contact, T0).await.unwrap();
    assert!(
        store
            .media_for(admin, listed[0].id)
            .await
            .unwrap()
            .is_none()
    );
}

/// Messenger's `read` watermark reads every message sent up to it, and only those.
pub async fn a_read_watermark_reads_what_was_sent_before_it(store: Arc<dyn Store>) {
    store
        .sync_channels(vec![spec("fb", "messenger", json!({ "page_id": "P" }))], T0)
        .await
        .unwrap();
    let h: Arc<dyn ConversationHandler> = Arc::new(GreetingBot::default());
    let first = store
        .ingest(on("fb", "PSID1", "m1", T0), h.clone())
        .await
        .unwrap();
    let later = T0.plus(Duration::minutes(5));
    store
        .ingest(on("fb", "PSID1", "m2", later), h)
        .await
        .unwrap();
    // Send every queued reply (one per conversation at a time, in order).
    let mut n = 0;
    loop {
        let items = store.claim_outbox(claim(later)).await.unwrap();
        if items.is_empty() {
            break;
        }
        for item in items {
            n += 1;
            store
                .record_attempt(Attempt {
                    message: item.message,
                    at: later,
                    duration_ms: 1,
                    outcome: AttemptOutcome::Sent {
                        external_id: Some(format!("out{n}")),
                        detail: None,
                    },
                })
                .await
                .unwrap();
        }
    }
    let watermark = T0.plus(Duration::minutes(1));
    let n = store
        .record_read_up_to(ChannelId("fb".into()), "PSID1".into(), watermark)
        .await
        .unwrap();
    let outbound: Vec<_> = store
        .messages(first.conversation)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.direction == Direction::Outbound)
        .collect();
    let before = outbound
        .iter()
        .filter(|m| m.created_at <= watermark)
        .count();
    assert!(
        before >= 1 && before < outbound.len(),
        "replies on both sides of the watermark"
    );
    assert_eq!(
        n as usize, before,
        "only the replies sent before the watermark"
    );
    for m in &outbound {
        let want = if m.created_at <= watermark {
            DeliveryStatus::Read
        } else {
            DeliveryStatus::Sent
        };
        assert_eq!(m.status, Some(want), "{:?}", m.text);
    }
}

/// The window's start moves with the contact's messages, to the minute: a burst writes
/// it once (it may close up to a minute early, never late).
pub async fn the_window_start_follows_the_contacts_messages_to_the_minute(store: Arc<dyn Store>) {
    store
        .sync_channels(
            vec![spec("wa", "whatsapp", json!({ "phone_number_id": "1" }))],
            T0,
        )
        .await
        .unwrap();
    let h: Arc<dyn ConversationHandler> = Arc::new(GreetingBot::default());
    let at = |s: i64| T0.plus(Duration::seconds(s));
    let start = |store: Arc<dyn Store>, conv| async move {
        let contact = store.conversation(conv).await.unwrap().unwrap().contact.id;
        store.contact_card(contact).await.unwrap().identities[0].last_inbound_at
    };
    let a = store
        .ingest(on("wa", "33600000001", "w1", at(0)), h.clone())
        .await
        .unwrap();
    assert_eq!(start(store.clone(), a.conversation).await, Some(at(0)));
    store
        .ingest(on("wa", "33600000001", "w2", at(30)), h.clone())
        .await
        .unwrap();
    assert_eq!(
        start(store.clone(), a.conversation).await,
        Some(at(0)),
        "within the minute"
    );
    store
        .ingest(on("wa", "33600000001", "w3", at(61)), h)
        .await
        .unwrap();
    assert_eq!(start(store.clone(), a.conversation).await, Some(at(61)));
}

/// The web chat's reads: a visitor's transcript after a cursor (their messages and the
/// replies, across conversations, never another visitor's or a note) and what they
/// saw moving the replies forward; the browser's language is a new contact's.
pub async fn a_web_chat_visitor_reads_their_transcript_and_marks_what_they_saw(
    store: Arc<dyn Store>,
) {
    store
        .sync_channels(vec![spec("site", "webchat", json!({}))], T0)
        .await
        .unwrap();
    let h: Arc<dyn ConversationHandler> = Arc::new(GreetingBot::default());
    let say = |who: &str, id: &str, at: Timestamp| Inbound {
        language: Some("it".into()),
        opens_window: false,
        replies_in_band: true,
        ..on("site", who, id, at)
    };
    let first = store
        .ingest(say("v-a", "wc:1", T0), h.clone())
        .await
        .unwrap();
    store
        .ingest(say("v-b", "wc:1", T0), h.clone())
        .await
        .unwrap();
    let later = T0.plus(Duration::minutes(1));
    store.ingest(say("v-a", "wc:2", later), h).await.unwrap();
    let site = || ChannelId("site".into());
    let all = store
        .transcript_after(site(), "v-a".into(), MessageId(0), 100)
        .await
        .unwrap();
    let ids: Vec<i64> = all.iter().map(|e| e.message.id.0).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted, "oldest first");
    assert!(
        all.iter()
            .all(|e| e.message.conversation == first.conversation)
    );
    assert_eq!(
        all.iter()
            .filter(|e| e.message.direction == Direction::Inbound)
            .count(),
        2,
        "only this visitor's messages"
    );
    assert!(all.len() >= 4, "with the replies: {}", all.len());
    // After a cursor, and at most `limit`.
    let after = store
        .transcript_after(site(), "v-a".into(), all[1].message.id, 100)
        .await
        .unwrap();
    assert_eq!(after.len(), all.len() - 2);
    let two = store
        .transcript_after(site(), "v-a".into(), MessageId(0), 2)
        .await
        .unwrap();
    assert_eq!(two.len(), 2);
    assert!(
        store
            .transcript_after(site(), "nobody".into(), MessageId(0), 10)
            .await
            .unwrap()
            .is_empty()
    );
    // Seen up to the first reply: it is read, the later ones are not; delivered never
    // goes back from read.
    let first_reply = all
        .iter()
        .find(|e| e.message.direction == Direction::Outbound)
        .unwrap()
        .message
        .id;
    let n = store
        .visitor_saw(
            site(),
            "v-a".into(),
            first_reply,
            DeliveryStatus::Read,
            later,
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
    let n = store
        .visitor_saw(
            site(),
            "v-a".into(),
            MessageId(i64::MAX),
            DeliveryStatus::Delivered,
            later,
        )
        .await
        .unwrap();
    assert!(n >= 1);
    for m in store.messages(first.conversation).await.unwrap() {
        if m.direction != Direction::Outbound {
            continue;
        }
        let want = if m.id == first_reply {
            DeliveryStatus::Read
        } else {
            DeliveryStatus::Delivered
        };
        assert_eq!(m.status, Some(want), "{:?}", m.text);
    }
    let view = store
        .conversation(first.conversation)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(view.contact.language.as_deref(), Some("it"));
    // A page's heartbeat, for every node's outbox; nothing for a visitor not yet known.
    assert_eq!(
        store.visitor_seen_at(site(), "v-a".into()).await.unwrap(),
        None
    );
    assert!(
        store
            .visitor_seen(site(), "v-a".into(), later)
            .await
            .unwrap()
    );
    assert_eq!(
        store.visitor_seen_at(site(), "v-a".into()).await.unwrap(),
        Some(later)
    );
    assert!(
        !store
            .visitor_seen(site(), "nobody".into(), later)
            .await
            .unwrap()
    );
    // The email a visitor gives is kept on their contact.
    assert!(
        store
            .set_contact_email(site(), "v-a".into(), "a@example.com".into(), later)
            .await
            .unwrap()
    );
    let view = store
        .conversation(first.conversation)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(view.contact.fields["email"], "a@example.com");
    assert!(
        !store
            .set_contact_email(site(), "nobody".into(), "b@example.com".into(), later)
            .await
            .unwrap()
    );
}

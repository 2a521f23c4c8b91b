//! The transactions of the pipeline, written once over [`Tx`]: ingest an inbound
//! message, fire a timer, journal a delivery attempt. Each runs inside one
//! transaction that the backend opens and commits.

use crate::desk;
use crate::model::*;
use crate::outgoing::{self, Outgoing, Route};
use crate::snapshot::Prepared;
use crate::tx::Tx;
use crate::{Error, Result};
use relais_core::Timestamp;
use relais_core::contact::Contact;
use relais_core::conversation::Conversation;
use relais_core::decision::{ConversationHandler, Decision, HandlerInput, HttpResult, Trigger};
use relais_core::event::{Actor, Event, EventKind};
use relais_core::id::{ConversationId, MessageId, TimerId};
use relais_core::lifecycle::{self, Lifecycle};
use relais_core::message::{AuthorKind, DeliveryStatus, Direction, Message};
use relais_core::step;
use relais_core::ticket::Status;
use serde_json::json;

/// How stale the window's recorded start may be (see `record_inbound`).
const WINDOW_PRECISION_MS: i64 = 60_000;

/// Stores an inbound message and runs the bot. A duplicate returns
/// [`Error::DuplicateInbound`] so the whole transaction rolls back (nothing is written).
///
/// `prepared` is the bot's step taken on a snapshot before the batch
/// ([`crate::snapshot`]): used if the snapshot is still current, else the step runs
/// here.
pub(crate) fn ingest(
    tx: &mut Tx<'_>,
    inbound: &Inbound,
    handler: &dyn ConversationHandler,
    life: &Lifecycle,
    prepared: Option<&Prepared>,
) -> Result<Ingested> {
    let now = inbound.received_at;
    let lane = Lane {
        channel: inbound.channel.clone(),
        address: inbound.address.clone(),
    };
    let (contact, window_from) = contact_of(tx, inbound)?;
    let Arrival {
        mut conv,
        first,
        status_before,
        survey,
        events,
    } = arrive(tx, inbound, &contact)?;
    // An `ask` with `mask:` waits on this message: it is masked before it is kept, and
    // the step taken on the snapshot (on the text as it came) does not count.
    let kinds = handler.masks(&conv);
    let masked;
    let (inbound, prepared) = if kinds.is_empty() {
        (inbound, prepared)
    } else {
        masked = masked_copy(inbound, &kinds);
        (&masked, None)
    };
    let msg = record_inbound(tx, inbound, &mut conv, &contact, events, window_from)?;
    if inbound.button.is_none()
        && let Some((word, implied)) = relais_core::consent::keyword(&msg.text)
    {
        return by_keyword(tx, inbound, conv, &contact, msg.id, word, implied);
    }

    if survey {
        return survey_answered(tx, conv, &lane, msg.id, inbound.replies_in_band, now);
    }
    let applied = on_message(
        tx,
        Step {
            conv: &mut conv,
            contact: &contact,
            lane: &lane,
            cause: Some(msg.id),
            in_band: inbound.replies_in_band,
            now,
            life,
        },
        Trigger::Message {
            id: msg.id,
            text: &msg.text,
            first,
            button: inbound.button.as_deref(),
        },
        status_before,
        prepared,
        handler,
    )?;
    Ok(Ingested {
        duplicate: false,
        conversation: conv.id,
        message: msg.id,
        replies: applied.replies,
        timers: applied.timers,
        queued: applied.queued,
        http: applied.http,
    })
}

/// The contact reached at the inbound's address and its window's start, or a new
/// contact (with the inbound's language, when it names one) and no window.
fn contact_of(tx: &mut Tx<'_>, inbound: &Inbound) -> Result<(Contact, Option<Timestamp>)> {
    Ok(
        match tx.contact_and_window(&inbound.channel, &inbound.address)? {
            Some(found) => found,
            None => {
                let mut c = tx.create_contact(
                    &inbound.channel,
                    &inbound.address,
                    inbound.contact_name.as_deref(),
                    inbound.received_at,
                )?;
                if let Some(lang) = &inbound.language {
                    tx.set_contact_language(c.id, lang)?;
                    c.language = Some(lang.clone());
                }
                (c, None)
            }
        },
    )
}

/// The inbound with its text and payload masked for `kinds`.
fn masked_copy(inbound: &Inbound, kinds: &[relais_core::privacy::Kind]) -> Inbound {
    let mut copy = inbound.clone();
    copy.text = relais_core::privacy::mask(&inbound.text, kinds).into_owned();
    if let Some(p) = &mut copy.payload {
        relais_core::privacy::mask_json(p, kinds);
    }
    copy
}

/// The message answers the satisfaction survey: thanked, and the bot does not run.
fn survey_answered(
    tx: &mut Tx<'_>,
    mut conv: Conversation,
    lane: &Lane,
    message: MessageId,
    in_band: bool,
    now: Timestamp,
) -> Result<Ingested> {
    let (thanks, queued) = desk::survey_thanks(tx, &mut conv, lane, message, in_band, now)?;
    conv.updated_at = now;
    tx.update_conversation(&conv)?;
    Ok(Ingested {
        duplicate: false,
        conversation: conv.id,
        message,
        replies: if queued { Vec::new() } else { vec![thanks] },
        timers: Vec::new(),
        queued,
        http: None,
    })
}

/// A customer's message that is neither a keyword nor a survey answer: the desk's
/// rules when a human has the conversation (`status_before`: the live one's status),
/// then the bot's step, the one taken on the snapshot when it is still current.
fn on_message(
    tx: &mut Tx<'_>,
    step: Step<'_>,
    trigger: Trigger<'_>,
    status_before: Option<Status>,
    prepared: Option<&Prepared>,
    handler: &dyn ConversationHandler,
) -> Result<Applied> {
    let mut human = desk::Effects::default();
    if let Some(before) = status_before
        && step.conv.status != Status::Bot
    {
        human = desk::customer_wrote(tx, step.conv, step.lane, before, step.life, step.now)?;
    }
    let replay = match prepared {
        Some(p) if step.conv.status == Status::Bot => {
            p.still_current(tx, step.conv, step.contact, step.now)?
        }
        _ => None,
    };
    let handler: &dyn ConversationHandler = match &replay {
        Some(r) => r,
        None => handler,
    };
    let mut applied = run_bot(tx, step, trigger, handler)?;
    applied.timers.extend(human.timers);
    applied.queued |= human.queued;
    Ok(applied)
}

/// STOP or START (SPEC §6): the consent for this channel kind changes at once, the
/// contact gets a confirmation in their language, and the flow does not run.
fn by_keyword(
    tx: &mut Tx<'_>,
    inbound: &Inbound,
    mut conv: Conversation,
    contact: &Contact,
    cause: MessageId,
    word: relais_core::consent::Keyword,
    implied_language: Option<&str>,
) -> Result<Ingested> {
    use relais_core::consent::{Keyword, confirmation};
    let now = inbound.received_at;
    let kind = tx.channel_kind(&inbound.channel)?.unwrap_or_default();
    let granted = word == Keyword::OptIn;
    tx.set_consent_by_contact(contact.id, &kind, granted, now)?;
    tx.insert_event(
        Some(conv.id),
        &Event::new(
            EventKind::ConsentChanged,
            Actor::Contact(contact.id),
            now,
            json!({ "channel_kind": kind, "granted": granted, "message": cause }),
        ),
    )?;
    let language = contact
        .language
        .as_deref()
        .or(implied_language)
        .unwrap_or("en");
    let lane = Lane {
        channel: inbound.channel.clone(),
        address: inbound.address.clone(),
    };
    let route = if inbound.replies_in_band {
        Route::InBand
    } else {
        Route::Outbox
    };
    let reply = outgoing::write(
        tx,
        &mut conv,
        &lane,
        Outgoing {
            reply_to: Some(cause),
            ..Outgoing::text(
                AuthorKind::System,
                None,
                confirmation(word, language).to_owned(),
                route,
            )
        },
        now,
    )?;
    conv.updated_at = now;
    tx.update_conversation(&conv)?;
    let queued = route == Route::Outbox;
    Ok(Ingested {
        duplicate: false,
        conversation: conv.id,
        message: cause,
        replies: if queued { Vec::new() } else { vec![reply] },
        timers: Vec::new(),
        queued,
        http: None,
    })
}

/// Where a customer's message lands, before it is written.
struct Arrival {
    conv: Conversation,
    /// The message starts this conversation.
    first: bool,
    /// The live conversation's status before the message (`None`: a new one).
    status_before: Option<Status>,
    /// The message answers the satisfaction survey (the conversation stays solved).
    survey: bool,
    /// Events to record before the message's own.
    events: Vec<Event>,
}

/// Finds the contact's live conversation and moves its ticket for a customer message
/// (reopen; a bot-solved one restarts the bot), unless the message answers the survey;
/// or starts a new conversation, linked to the previous one.
fn arrive(tx: &mut Tx<'_>, inbound: &Inbound, contact: &Contact) -> Result<Arrival> {
    let now = inbound.received_at;
    let actor = Actor::Contact(contact.id);
    let live = match tx.threaded_conversation(&inbound.channel, &inbound.thread, contact.id)? {
        Some(c) => Some(c),
        None => tx.live_conversation(&inbound.channel, contact.id)?,
    };
    match live {
        Some(mut conv) => {
            let status_before = Some(conv.status);
            // An answer to the satisfaction survey keeps the conversation solved.
            let survey = desk::survey_answer(tx, &conv, &inbound.text, now)?;
            let mut events = Vec::new();
            if !survey {
                // Live conversations are never closed; a refusal here is a bug, not input.
                let changed = step::customer_wrote(&mut conv, actor, now).map_err(|e| {
                    Error::Corrupt(format!(
                        "conversation {} cannot take a customer message: {e}",
                        conv.id
                    ))
                })?;
                events.extend(changed);
            }
            Ok(Arrival {
                conv,
                first: false,
                status_before,
                survey,
                events,
            })
        }
        None => {
            let previous = tx.last_conversation(&inbound.channel, contact.id)?;
            let fresh = Conversation::start(inbound.channel.clone(), contact.id, previous, now);
            let conv = tx.insert_conversation(&fresh, &inbound.address)?;
            let started = Event::new(
                EventKind::ConversationStarted,
                actor,
                now,
                json!({ "channel": inbound.channel, "previous": previous }),
            );
            Ok(Arrival {
                conv,
                first: true,
                status_before: None,
                survey: false,
                events: vec![started],
            })
        }
    }
}

/// Writes the inbound message (the unique index refuses a duplicate) with its
/// `message_received` event after `events`.
fn record_inbound(
    tx: &mut Tx<'_>,
    inbound: &Inbound,
    conv: &mut Conversation,
    contact: &Contact,
    mut events: Vec<Event>,
    window_from: Option<Timestamp>,
) -> Result<Message> {
    let now = inbound.received_at;
    conv.last_seq += 1;
    let mut msg = Message {
        id: MessageId(0),
        conversation: conv.id,
        channel: inbound.channel.clone(),
        seq: conv.last_seq,
        direction: Direction::Inbound,
        author: AuthorKind::Contact,
        agent: None,
        text: inbound.text.clone(),
        buttons: Vec::new(),
        status: None,
        external_id: inbound.external_id.clone(),
        reply_to: None,
        created_at: now,
    };
    let payload = match &inbound.payload {
        Some(p) => Some(serde_json::to_string(p)?),
        None => None,
    };
    msg.id = tx.insert_message(
        &msg,
        &inbound.channel,
        Some(&inbound.address),
        payload.as_deref(),
    )?;
    // The window's start moves with each message; within a minute of the last move it
    // is left alone (one write fewer per message in a burst; the window then closes up
    // to a minute early, never late).
    if inbound.opens_window && window_from.is_none_or(|t| now.0 - t.0 >= WINDOW_PRECISION_MS) {
        tx.window_opened(&inbound.channel, &inbound.address, now)?;
    }
    if let Some(m) = &inbound.media {
        tx.insert_media(msg.id, conv.id, contact.id, &inbound.channel, m, now)?;
    }
    for (i, a) in inbound.attachments.iter().enumerate() {
        tx.insert_stored_media(&msg, contact.id, i, a, now)?;
    }
    events.push(Event::new(
        EventKind::MessageReceived,
        Actor::Contact(contact.id),
        now,
        json!({ "message": msg.id, "seq": msg.seq }),
    ));
    for e in &events {
        tx.insert_event(Some(conv.id), e)?;
    }
    Ok(msg)
}

/// What a duplicate delivery answers: the original message and the replies it got. The
/// same id with another text is not a redelivery but a client reusing ids: refused.
pub(crate) fn duplicate(tx: &mut Tx<'_>, inbound: &Inbound) -> Result<Ingested> {
    let external = inbound
        .external_id
        .as_deref()
        .ok_or_else(|| Error::Database("duplicate without an external id".into()))?;
    let original = tx
        .inbound_by_external_id(&inbound.channel, &inbound.address, external)?
        .ok_or_else(|| Error::Database("duplicate whose original is not visible".into()))?;
    // A message masked when it was kept (`[privacy] mask`, an `ask`'s `mask`) is the
    // same message as its redelivery.
    let masked = relais_core::privacy::mask(&inbound.text, &relais_core::privacy::Kind::MASKABLE);
    if original.text != inbound.text && original.text != masked {
        return Err(Error::Conflict(format!(
            "message id {external:?} was already received from this sender with a different text; \
             use a new id for a new message"
        )));
    }
    Ok(Ingested {
        duplicate: true,
        conversation: original.conversation,
        message: original.id,
        replies: tx.replies_to(original.id)?,
        timers: Vec::new(),
        queued: false,
        http: None,
    })
}

/// Fires a timer if this call wins the claim.
pub(crate) fn fire_timer(
    tx: &mut Tx<'_>,
    id: TimerId,
    now: Timestamp,
    handler: &dyn ConversationHandler,
    life: &Lifecycle,
) -> Result<Option<Fired>> {
    let Some(timer) = tx.claim_timer(id, now)? else {
        return Ok(None);
    };
    if lifecycle::is_lifecycle_timer(&timer.name) {
        return desk::fire(
            tx,
            timer.conversation,
            &timer.name,
            &timer.payload,
            life,
            now,
        )
        .map(Some);
    }
    let woken = Wake {
        conversation: timer.conversation,
        event: Event::new(
            EventKind::TimerFired,
            Actor::System,
            now,
            json!({ "timer": id, "name": timer.name }),
        ),
        in_band: false,
        now,
    };
    let trigger = Trigger::Timer {
        name: &timer.name,
        payload: &timer.payload,
    };
    wake(tx, woken, trigger, handler, life).map(Some)
}

/// Hands the result of an `http` call back to the bot of its conversation. Replies go
/// in band when the call was made for an in-band (REST) message.
pub(crate) fn resume(
    tx: &mut Tx<'_>,
    conversation: ConversationId,
    result: &HttpResult,
    in_band: bool,
    now: Timestamp,
    handler: &dyn ConversationHandler,
    life: &Lifecycle,
) -> Result<Fired> {
    let status = match result {
        HttpResult::Response { status, .. } => json!(status),
        HttpResult::Failed { .. } => json!(null),
    };
    let woken = Wake {
        conversation,
        event: Event::new(
            EventKind::HttpCalled,
            Actor::System,
            now,
            json!({ "status": status }),
        ),
        in_band,
        now,
    };
    wake(tx, woken, Trigger::Http(result), handler, life)
}

/// Something other than a customer message woke a conversation.
struct Wake {
    conversation: ConversationId,
    /// Recorded before the bot runs.
    event: Event,
    in_band: bool,
    now: Timestamp,
}

/// Records what woke the conversation, runs its bot and commits what it decided.
fn wake(
    tx: &mut Tx<'_>,
    w: Wake,
    trigger: Trigger<'_>,
    handler: &dyn ConversationHandler,
    life: &Lifecycle,
) -> Result<Fired> {
    let (mut conv, address) = tx.conversation(w.conversation, true)?.ok_or_else(|| {
        Error::Corrupt(format!(
            "{} for a missing conversation {}",
            w.event.kind.as_str(),
            w.conversation
        ))
    })?;
    let contact = tx.contact(conv.contact)?;
    tx.insert_event(Some(conv.id), &w.event)?;
    let lane = Lane {
        channel: conv.channel.clone(),
        address,
    };
    let applied = run_bot(
        tx,
        Step {
            conv: &mut conv,
            contact: &contact,
            lane: &lane,
            cause: None,
            in_band: w.in_band,
            now: w.now,
            life,
        },
        trigger,
        handler,
    )?;
    Ok(Fired {
        conversation: conv.id,
        replies: applied.replies,
        timers: applied.timers,
        queued: applied.queued,
        http: applied.http,
    })
}

/// Journals an attempt and moves the outbox row and the message's status.
pub(crate) fn record_attempt(tx: &mut Tx<'_>, a: &Attempt) -> Result<()> {
    let Some(crate::tx::QueuedRow {
        conversation,
        attempts,
        channel,
        status: current,
    }) = tx.outbox_row(a.message)?
    else {
        // Already settled (a late duplicate report): the journal keeps the first outcome.
        return Ok(());
    };
    let attempt = attempts + 1;
    let (outcome, detail) = match &a.outcome {
        AttemptOutcome::Sent { detail, .. } => ("sent", detail.clone()),
        AttemptOutcome::Retry {
            detail, ambiguous, ..
        } => (
            if *ambiguous { "ambiguous" } else { "retry" },
            Some(detail.clone()),
        ),
        AttemptOutcome::Failed { detail } => ("failed", Some(detail.clone())),
    };
    tx.insert_attempt(&AttemptRecord {
        message: a.message,
        attempt,
        at: a.at,
        outcome: outcome.into(),
        detail: detail.clone(),
        duration_ms: a.duration_ms,
    })?;
    match &a.outcome {
        AttemptOutcome::Sent { external_id, .. } => {
            tx.delete_outbox(a.message, conversation)?;
            if let Some(next) = current.advance(DeliveryStatus::Sent) {
                tx.set_delivery(a.message, next, external_id.as_deref())?;
            }
            if let Some(ext) = external_id {
                tx.apply_early_statuses(&channel, ext)?;
            }
            tx.insert_event(
                Some(conversation),
                &Event::new(
                    EventKind::MessageSent,
                    Actor::System,
                    a.at,
                    json!({ "message": a.message, "attempt": attempt }),
                ),
            )?;
        }
        AttemptOutcome::Retry { retry_at, .. } => {
            tx.reschedule_outbox(a.message, *retry_at, attempt)?
        }
        AttemptOutcome::Failed { detail } => {
            tx.delete_outbox(a.message, conversation)?;
            desk::survey_failed(tx, a.message, a.at)?;
            if let Some(next) = current.advance(DeliveryStatus::Failed) {
                tx.set_delivery(a.message, next, None)?;
            }
            tx.insert_event(
                Some(conversation),
                &Event::new(
                    EventKind::DeliveryFailed,
                    Actor::System,
                    a.at,
                    json!({ "message": a.message, "attempt": attempt, "detail": detail }),
                ),
            )?;
        }
    }
    Ok(())
}

/// The context a decision is applied in.
pub(crate) struct Step<'a> {
    pub(crate) conv: &'a mut Conversation,
    pub(crate) contact: &'a Contact,
    pub(crate) lane: &'a Lane,
    /// The inbound message the decision answers.
    pub(crate) cause: Option<MessageId>,
    /// Replies go back in the caller's response instead of through the outbox.
    pub(crate) in_band: bool,
    pub(crate) now: Timestamp,
    pub(crate) life: &'a Lifecycle,
}

#[derive(Default)]
pub(crate) struct Applied {
    pub(crate) replies: Vec<Message>,
    pub(crate) timers: Vec<ScheduledTimer>,
    pub(crate) queued: bool,
    pub(crate) http: Option<relais_core::decision::HttpCall>,
    /// The bot handed over: the conversation joins a queue after it is saved.
    pub(crate) escalated: bool,
    /// The bot solved it; `true` when its `resolve` asked for the survey.
    pub(crate) bot_solved: Option<bool>,
}

/// Runs the bot on a trigger if it owns the conversation (a human owns every other
/// status, and then the bot stays silent), applies its decision, and saves the
/// conversation.
pub(crate) fn run_bot(
    tx: &mut Tx<'_>,
    step: Step<'_>,
    trigger: Trigger<'_>,
    handler: &dyn ConversationHandler,
) -> Result<Applied> {
    let Step {
        conv,
        contact,
        lane,
        cause,
        in_band,
        now,
        life,
    } = step;
    let mut applied = if conv.status == Status::Bot {
        let decision = {
            let probe = crate::queue::Probe::new(tx, now);
            handler.decide(&HandlerInput {
                conversation: conv,
                contact,
                trigger,
                now,
                queue: &probe,
            })
        };
        let step = Step {
            conv: &mut *conv,
            contact,
            lane,
            cause,
            in_band,
            now,
            life,
        };
        apply_decision(tx, step, decision)?
    } else {
        Applied::default()
    };
    if let Some(csat) = applied.bot_solved {
        let mut fx = desk::Effects::default();
        let by = step::SolvedBy::Bot { csat };
        desk::solved(tx, conv, lane, by, life, now, &mut fx)?;
        applied.timers.extend(fx.timers);
        applied.queued |= fx.queued;
    }
    conv.updated_at = now;
    tx.update_conversation(conv)?;
    if applied.escalated {
        // Into the team's queue; its strategy may give it to an agent at once.
        tx.enqueue(conv.id, now)?;
        let assigned = crate::queue::drain(tx, conv.team.as_deref(), life, now)?;
        for a in assigned {
            if a.conversation == conv.id {
                conv.assignee = Some(a.agent);
            }
            applied.timers.extend(a.timer);
        }
    }
    Ok(applied)
}

/// Writes a handler's decision: replies (sent in band, or queued in the outbox), timer
/// changes, ticket action, bot state and extra events.
fn apply_decision(tx: &mut Tx<'_>, step: Step<'_>, mut decision: Decision) -> Result<Applied> {
    let Step {
        conv,
        contact,
        lane,
        cause,
        in_band,
        now,
        life: _,
    } = step;
    let mut applied = Applied::default();
    // What the decision does to the conversation itself: the core's rule, shared with
    // the simulator. Refused before anything is written.
    let bot = step::apply_bot_decision(conv, contact, &mut decision, now).map_err(|e| {
        Error::Corrupt(format!(
            "the bot's decision on conversation {}: {e}",
            conv.id
        ))
    })?;
    let route = if in_band {
        Route::InBand
    } else {
        Route::Outbox
    };
    for reply in decision.replies {
        let m = outgoing::write(
            tx,
            conv,
            lane,
            Outgoing {
                buttons: reply.buttons,
                reply_to: cause,
                rich: reply.rich,
                ..Outgoing::text(AuthorKind::Bot, None, reply.text, route)
            },
            now,
        )?;
        applied.queued |= route == Route::Outbox;
        applied.replies.push(m);
    }
    for name in &decision.cancel {
        tx.cancel_timers(conv.id, name, now)?;
    }
    for t in &decision.schedule {
        tx.cancel_timers(conv.id, &t.name, now)?;
        let id = tx.insert_timer(conv.id, lane, t, now)?;
        tx.insert_event(
            Some(conv.id),
            &Event::new(
                EventKind::TimerScheduled,
                Actor::Bot,
                now,
                json!({ "timer": id, "name": t.name, "due_at": t.due_at }),
            ),
        )?;
        applied.timers.push(ScheduledTimer {
            id,
            due_at: t.due_at,
            lane: lane.clone(),
        });
    }
    for e in &bot.events {
        tx.insert_event(Some(conv.id), e)?;
    }
    applied.escalated = bot.escalated;
    applied.bot_solved = bot.bot_solved;
    if let Some(l) = &bot.contact_language {
        tx.set_contact_language(contact.id, l)?;
    }
    applied.http = decision.http;
    for e in &decision.events {
        tx.insert_event(Some(conv.id), e)?;
    }
    Ok(applied)
}

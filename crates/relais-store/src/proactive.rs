//! Proactive starts (SPEC §7): an outside event opens (or continues, while the bot owns
//! it) a conversation with a contact and runs the flow that the event triggers, after
//! recording the contact's consent and refusing when there is no opt-in.

use crate::model::*;
use crate::sql::ConnExt;
use crate::tx::{Tx, json_text};
use crate::usecase::{Step, run_bot};
use crate::{Error, Result};
use relais_core::Timestamp;
use relais_core::contact::Contact;
use relais_core::conversation::Conversation;
use relais_core::decision::{ConversationHandler, Trigger};
use relais_core::event::{Actor, Event, EventKind};
use relais_core::id::ContactId;
use relais_core::step;
use relais_core::ticket::{Action, Status};
use serde_json::json;

/// How a proactive start ended. Refusals still commit the contact and its consent.
#[derive(Debug, Clone)]
pub enum ProactiveOutcome {
    Started(Started),
    /// The contact has not opted in on this channel kind: nothing was sent.
    NoConsent,
    /// A human owns the contact's live conversation: nothing was sent.
    HumanOwns(relais_core::id::ConversationId),
}

impl Tx<'_> {
    fn consent(&mut self, contact: ContactId, kind: &str) -> Result<Option<bool>> {
        let r = self.c.query_opt(
            "SELECT granted FROM contact_consents WHERE contact_id = $1 AND channel_kind = $2",
            &[contact.0.into(), kind.into()],
        )?;
        r.map(|r| r.int(0).map(|g| g != 0)).transpose()
    }

    fn set_consent(
        &mut self,
        contact: ContactId,
        kind: &str,
        granted: bool,
        at: Timestamp,
    ) -> Result<()> {
        self.c.execute(
            "INSERT INTO contact_consents (contact_id, channel_kind, granted, at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (contact_id, channel_kind) DO UPDATE SET granted = $3, at = $4 \
             WHERE NOT (contact_consents.by_contact = 1 AND contact_consents.granted = 0)",
            &[contact.0.into(), kind.into(), granted.into(), at.0.into()],
        )?;
        Ok(())
    }

    fn update_profile(&mut self, c: &mut Contact, p: &ContactProfile) -> Result<()> {
        if let Some(n) = &p.name {
            c.name = Some(n.clone());
        }
        if let Some(l) = &p.language {
            c.language = Some(l.clone());
        }
        if let Some(t) = &p.tier {
            c.tier.clone_from(t);
        }
        if let Some(f) = &p.fields {
            if !c.fields.is_object() {
                c.fields = json!({});
            }
            if let Some(obj) = c.fields.as_object_mut() {
                for (k, v) in f {
                    obj.insert(k.clone(), v.clone());
                }
            }
        }
        self.c.execute(
            "UPDATE contacts SET name = $1, language = $2, tier = $3, fields = $4 WHERE id = $5",
            &[
                c.name.as_ref().into(),
                c.language.as_ref().into(),
                c.tier.as_str().into(),
                json_text(&c.fields)?,
                c.id.0.into(),
            ],
        )?;
        Ok(())
    }
}

pub(crate) fn start(
    tx: &mut Tx<'_>,
    p: &ProactiveStart,
    handler: &dyn ConversationHandler,
    life: &relais_core::lifecycle::Lifecycle,
) -> Result<ProactiveOutcome> {
    let now = p.now;
    let mut contact = match tx.contact_by_identity(&p.channel, &p.address)? {
        Some(c) => c,
        None => tx.create_contact(&p.channel, &p.address, p.contact.name.as_deref(), now)?,
    };
    tx.update_profile(&mut contact, &p.contact)?;
    for (kind, granted) in &p.consent {
        tx.set_consent(contact.id, kind, *granted, now)?;
    }
    if tx.consent(contact.id, &p.channel_kind)? != Some(true) {
        return Ok(ProactiveOutcome::NoConsent);
    }
    let live = tx.live_conversation(&p.channel, contact.id)?;
    let mut conv = match live {
        Some(c) if c.status == Status::Bot => c,
        Some(c) if c.status == Status::Solved => {
            // A solved conversation is finished: close it and start afresh, linked.
            close(tx, c, now)?;
            open(tx, p, &contact)?
        }
        Some(c) => return Ok(ProactiveOutcome::HumanOwns(c.id)),
        None => open(tx, p, &contact)?,
    };
    let created = conv.last_seq == 0;
    tx.insert_event(
        Some(conv.id),
        &Event::new(
            EventKind::ProactiveEvent,
            Actor::System,
            now,
            json!({ "name": p.event }),
        ),
    )?;
    let lane = Lane {
        channel: p.channel.clone(),
        address: p.address.clone(),
    };
    let applied = run_bot(
        tx,
        Step {
            conv: &mut conv,
            contact: &contact,
            lane: &lane,
            cause: None,
            in_band: false,
            now,
            life,
        },
        Trigger::Event {
            name: &p.event,
            data: &p.data,
        },
        handler,
    )?;
    Ok(ProactiveOutcome::Started(Started {
        conversation: conv.id,
        created,
        replies: applied.replies,
        timers: applied.timers,
        queued: applied.queued,
        http: applied.http,
    }))
}

fn open(tx: &mut Tx<'_>, p: &ProactiveStart, contact: &Contact) -> Result<Conversation> {
    let previous = tx.last_conversation(&p.channel, contact.id)?;
    let fresh = Conversation::start(p.channel.clone(), contact.id, previous, p.now);
    let conv = tx.insert_conversation(&fresh, &p.address)?;
    tx.insert_event(
        Some(conv.id),
        &Event::new(
            EventKind::ConversationStarted,
            Actor::System,
            p.now,
            json!({ "channel": p.channel, "previous": previous, "proactive": p.event }),
        ),
    )?;
    Ok(conv)
}

fn close(tx: &mut Tx<'_>, mut c: Conversation, now: Timestamp) -> Result<()> {
    let changed = step::move_ticket(&mut c, Action::AutoClose, Actor::System, now)
        .map_err(|_| Error::Corrupt(format!("solved conversation {} cannot be closed", c.id)))?;
    if let Some(e) = changed {
        tx.insert_event(Some(c.id), &e)?;
    }
    c.updated_at = now;
    tx.update_conversation(&c)
}

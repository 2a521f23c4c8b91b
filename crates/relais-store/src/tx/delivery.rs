//! Timers, the outbox and its attempts journal.

use super::*;

/// What [`Tx::outbox_row`] reads.
pub(crate) struct QueuedRow {
    pub conversation: ConversationId,
    pub attempts: i64,
    pub channel: ChannelId,
    pub status: DeliveryStatus,
}

impl Tx<'_> {
    // ---- timers ---------------------------------------------------------------------

    pub fn cancel_timers(
        &mut self,
        conversation: ConversationId,
        name: &str,
        now: Timestamp,
    ) -> Result<u64> {
        self.c.execute(
            "UPDATE timers SET state = 'cancelled', done_at = $1 \
             WHERE conversation_id = $2 AND name = $3 AND state = 'pending'",
            &[now.0.into(), conversation.0.into(), name.into()],
        )
    }

    pub fn insert_timer(
        &mut self,
        conversation: ConversationId,
        lane: &Lane,
        t: &TimerRequest,
        now: Timestamp,
    ) -> Result<TimerId> {
        let id = self.c.insert(
            "INSERT INTO timers (conversation_id, channel_id, address, name, due_at, payload, state, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7)",
            &[
                conversation.0.into(),
                lane.channel.as_str().into(),
                lane.address.as_str().into(),
                t.name.as_str().into(),
                t.due_at.0.into(),
                json_text(&t.payload)?,
                now.0.into(),
            ],
        )?;
        id.map(TimerId)
            .ok_or_else(|| Error::Database("a timer was not inserted".into()))
    }

    /// The atomic claim: only one caller ever moves a timer from pending to fired.
    pub fn claim_timer(&mut self, id: TimerId, now: Timestamp) -> Result<Option<ClaimedTimer>> {
        let r = self.c.query_opt(
            "UPDATE timers SET state = 'fired', done_at = $1 WHERE id = $2 AND state = 'pending' AND due_at <= $1 \
             RETURNING conversation_id, name, payload",
            &[now.0.into(), id.0.into()],
        )?;
        r.map(|r| {
            Ok(ClaimedTimer {
                conversation: ConversationId(r.int(0)?),
                name: r.text(1)?,
                payload: r.json(2)?,
            })
        })
        .transpose()
    }

    pub fn due_timers(&mut self, until: Timestamp, limit: u32) -> Result<Vec<DueTimer>> {
        let rows = self.c.query(
            "SELECT id, due_at, channel_id, address FROM timers WHERE state = 'pending' AND due_at <= $1 \
             ORDER BY due_at, id LIMIT $2",
            &[until.0.into(), i64::from(limit).into()],
        )?;
        rows.iter()
            .map(|r| {
                Ok(DueTimer {
                    id: TimerId(r.int(0)?),
                    due_at: Timestamp(r.int(1)?),
                    lane: Lane {
                        channel: ChannelId(r.text(2)?),
                        address: r.text(3)?,
                    },
                })
            })
            .collect()
    }

    // ---- outbox ---------------------------------------------------------------------

    pub fn insert_outbox(&mut self, m: &Message, lane: &Lane, due: Timestamp) -> Result<()> {
        self.c.execute(
            "INSERT INTO outbox (message_id, conversation_id, channel_id, address, next_attempt_at, attempts, head) \
             VALUES ($1, $2, $3, $4, $5, 0, \
                     CASE WHEN EXISTS (SELECT 1 FROM outbox WHERE conversation_id = $2) THEN 0 ELSE 1 END)",
            &[
                m.id.0.into(),
                m.conversation.0.into(),
                lane.channel.as_str().into(),
                lane.address.as_str().into(),
                due.0.into(),
            ],
        )?;
        Ok(())
    }

    /// Leases the head of each conversation's queue that is due and not leased.
    pub fn claim_outbox(&mut self, claim: &OutboxClaim) -> Result<Vec<OutboxItem>> {
        let rows = self.c.query(
            "UPDATE outbox SET lease_until = $1, lease_owner = $2 WHERE message_id IN ( \
               SELECT o.message_id FROM outbox o \
               WHERE o.head = 1 AND o.next_attempt_at <= $3 AND (o.lease_until IS NULL OR o.lease_until < $3) \
               ORDER BY o.next_attempt_at, o.message_id LIMIT $4) \
             AND (lease_until IS NULL OR lease_until < $3) \
             RETURNING message_id, conversation_id, channel_id, address, attempts",
            &[
                claim.lease_until.0.into(),
                claim.owner.as_str().into(),
                claim.now.0.into(),
                i64::from(claim.limit).into(),
            ],
        )?;
        let mut items = Vec::with_capacity(rows.len());
        for r in rows {
            let id = MessageId(r.int(0)?);
            let channel = ChannelId(r.text(2)?);
            let address = r.text(3)?;
            // The message, and the contact's last message on the channel (the window).
            let m = self
                .c
                .query_opt(
                    "SELECT m.body, m.buttons, m.payload, m.author_kind, i.last_inbound_at FROM messages m \
                     LEFT JOIN contact_identities i ON i.channel_id = $1 AND i.address = $2 WHERE m.id = $3",
                    &[channel.as_str().into(), address.as_str().into(), id.0.into()],
                )?
                .ok_or_else(|| Error::Corrupt(format!("outbox row for missing message {id}")))?;
            let rich = match m.opt_text("payload")? {
                Some(p) => serde_json::from_str(&p)
                    .map_err(|e| Error::Corrupt(format!("message {id} payload: {e}")))?,
                None => relais_core::rich::Rich::default(),
            };
            let last_inbound_at = m.opt_int("last_inbound_at")?.map(Timestamp);
            items.push(OutboxItem {
                message: id,
                conversation: ConversationId(r.int(1)?),
                channel,
                address,
                by_agent: m.text("author_kind")? == "agent",
                last_inbound_at,
                tag: None,
                text: m.text("body")?,
                buttons: serde_json::from_str(&m.text("buttons")?)
                    .map_err(|e| Error::Corrupt(format!("message {id} buttons: {e}")))?,
                rich,
                attempts: r.int(4)?,
            });
        }
        items.sort_by_key(|i| i.message);
        Ok(items)
    }

    /// The contact's last message on (channel, address): the window's start.
    pub fn last_inbound_at(
        &mut self,
        channel: &ChannelId,
        address: &str,
    ) -> Result<Option<Timestamp>> {
        Ok(self
            .c
            .query_opt(
                "SELECT last_inbound_at FROM contact_identities WHERE channel_id = $1 AND address = $2",
                &[channel.as_str().into(), address.into()],
            )?
            .and_then(|r| r.opt_int("last_inbound_at").ok().flatten())
            .map(Timestamp))
    }

    /// Moves a queued message to another channel (its fallback): the contact's address
    /// there is its identity on that channel, or, between phone channels, the same
    /// number. `false`, and nothing changed, when the contact has no address there.
    /// `seen_on` is the channel the caller found it on: a message another delivery
    /// already moved is left alone.
    pub fn reroute_outbound(
        &mut self,
        message: MessageId,
        seen_on: &ChannelId,
        to: &ChannelId,
        reason: &str,
        now: Timestamp,
    ) -> Result<bool> {
        let Some(row) = self.c.query_opt(
            "SELECT o.channel_id, o.address, c.contact_id, ch.kind FROM outbox o \
             JOIN conversations c ON c.id = o.conversation_id JOIN channels ch ON ch.id = o.channel_id \
             WHERE o.message_id = $1",
            &[message.0.into()],
        )?
        else {
            return Ok(false);
        };
        let from = ChannelId(row.text("channel_id")?);
        if &from != seen_on {
            // Another delivery of this message (an expired lease) moved it already.
            return Ok(true);
        }
        let contact = row.int("contact_id")?;
        let from_kind = row.text("kind")?;
        let Some(target) = self.c.query_opt(
            "SELECT kind FROM channels WHERE id = $1 AND enabled = 1",
            &[to.as_str().into()],
        )?
        else {
            return Ok(false);
        };
        let to_kind = target.text("kind")?;
        let Some(address) = self.address_on(contact, &row, &from_kind, to, &to_kind, now)? else {
            return Ok(false);
        };
        self.move_outbound(message, &from, to, &address, reason, now)?;
        Ok(true)
    }

    /// The contact's address on channel `to` (of kind `to_kind`) for a message queued on
    /// the outbox `row` (of kind `from_kind`): its identity there, else one derived (and
    /// recorded) from the same phone number or its `email` field; `None`: no address.
    fn address_on(
        &mut self,
        contact: i64,
        row: &Row,
        from_kind: &str,
        to: &ChannelId,
        to_kind: &str,
        now: Timestamp,
    ) -> Result<Option<String>> {
        let known = self.c.query_opt(
            "SELECT address FROM contact_identities WHERE channel_id = $1 AND contact_id = $2",
            &[to.as_str().into(), contact.into()],
        )?;
        Ok(Some(match known {
            Some(r) => r.text("address")?,
            None => {
                let derived = match relais_core::contact::same_phone(
                    from_kind,
                    &row.text("address")?,
                    to_kind,
                ) {
                    Some(a) => Some(a),
                    // An email fallback reaches the address the contact gave (their
                    // `email` field: a form, the web chat, an import).
                    None if to_kind == "email" => self.contact_email(contact)?,
                    None => None,
                };
                match derived {
                    Some(a) => {
                        self.c.execute(
                        "INSERT INTO contact_identities (channel_id, address, contact_id, created_at) \
                         VALUES ($1, $2, $3, $4) ON CONFLICT (channel_id, address) DO NOTHING",
                        &[to.as_str().into(), a.as_str().into(), contact.into(), now.0.into()],
                    )?;
                        a
                    }
                    None => return Ok(None),
                }
            }
        }))
    }

    /// Moves the queued `message` (and the message itself) from `from` to channel `to`
    /// and `address`, due at once with its attempts reset, and records it.
    fn move_outbound(
        &mut self,
        message: MessageId,
        from: &ChannelId,
        to: &ChannelId,
        address: &str,
        reason: &str,
        now: Timestamp,
    ) -> Result<()> {
        self.c.execute(
            "UPDATE outbox SET channel_id = $1, address = $2, attempts = 0, next_attempt_at = $3, \
             lease_until = NULL, lease_owner = NULL WHERE message_id = $4",
            &[
                to.as_str().into(),
                address.into(),
                now.0.into(),
                message.0.into(),
            ],
        )?;
        self.c.execute(
            "UPDATE messages SET channel_id = $1 WHERE id = $2",
            &[to.as_str().into(), message.0.into()],
        )?;
        let conversation = self.conversation_of_message(message)?;
        self.insert_event(
            conversation,
            &Event::new(
                EventKind::MessageRerouted,
                Actor::System,
                now,
                serde_json::json!({ "message": message, "from": from, "to": to, "reason": reason }),
            ),
        )?;
        Ok(())
    }

    /// The `email` field of a contact, when it looks like an address.
    fn contact_email(&mut self, contact: i64) -> Result<Option<String>> {
        let Some(r) = self.c.query_opt(
            "SELECT fields FROM contacts WHERE id = $1",
            &[contact.into()],
        )?
        else {
            return Ok(None);
        };
        let fields: serde_json::Value = r.json("fields")?;
        Ok(fields
            .get("email")
            .and_then(serde_json::Value::as_str)
            .map(|e| e.trim().to_lowercase())
            .filter(|e| e.contains('@') && !e.contains(char::is_whitespace)))
    }

    /// A queued message: its conversation, attempts so far, channel and delivery status.
    pub fn outbox_row(&mut self, id: MessageId) -> Result<Option<QueuedRow>> {
        self.c
            .query_opt(
                "SELECT o.conversation_id, o.attempts, o.channel_id, m.status FROM outbox o \
                 JOIN messages m ON m.id = o.message_id WHERE o.message_id = $1",
                &[id.0.into()],
            )?
            .map(|r| {
                Ok(QueuedRow {
                    conversation: ConversationId(r.int("conversation_id")?),
                    attempts: r.int("attempts")?,
                    channel: ChannelId(r.text("channel_id")?),
                    status: r
                        .opt_text("status")?
                        .and_then(|s| DeliveryStatus::parse(&s))
                        .unwrap_or(DeliveryStatus::Queued),
                })
            })
            .transpose()
    }

    pub fn defer_outbox(&mut self, id: MessageId, at: Timestamp) -> Result<()> {
        self.c.execute(
            "UPDATE outbox SET next_attempt_at = $1, lease_until = NULL, lease_owner = NULL WHERE message_id = $2",
            &[at.0.into(), id.0.into()],
        )?;
        Ok(())
    }

    pub fn reschedule_outbox(&mut self, id: MessageId, at: Timestamp, attempts: i64) -> Result<()> {
        self.c.execute(
            "UPDATE outbox SET next_attempt_at = $1, attempts = $2, lease_until = NULL, lease_owner = NULL \
             WHERE message_id = $3",
            &[at.0.into(), attempts.into(), id.0.into()],
        )?;
        Ok(())
    }

    /// Removes a settled message; the next of its conversation becomes the head.
    pub fn delete_outbox(&mut self, id: MessageId, conversation: ConversationId) -> Result<()> {
        self.c
            .execute("DELETE FROM outbox WHERE message_id = $1", &[id.0.into()])?;
        self.c.execute(
            "UPDATE outbox SET head = 1 WHERE message_id = \
             (SELECT MIN(message_id) FROM outbox WHERE conversation_id = $1) AND head = 0",
            &[conversation.0.into()],
        )?;
        Ok(())
    }

    pub fn next_outbox_due(&mut self, now: Timestamp) -> Result<Option<Timestamp>> {
        let r = self.c.query_one(
            "SELECT MIN(next_attempt_at) FROM outbox WHERE head = 1 AND (lease_until IS NULL OR lease_until < $1)",
            &[now.0.into()],
        )?;
        Ok(r.opt_int(0)?.map(Timestamp))
    }

    pub fn insert_attempt(&mut self, a: &AttemptRecord) -> Result<()> {
        self.c.execute(
            "INSERT INTO delivery_attempts (message_id, attempt, at, outcome, detail, duration_ms) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                a.message.0.into(),
                a.attempt.into(),
                a.at.0.into(),
                a.outcome.as_str().into(),
                a.detail.as_ref().into(),
                a.duration_ms.into(),
            ],
        )?;
        Ok(())
    }

    pub fn attempts(&mut self, id: MessageId) -> Result<Vec<AttemptRecord>> {
        let rows = self.c.query(
            "SELECT message_id, attempt, at, outcome, detail, duration_ms FROM delivery_attempts \
             WHERE message_id = $1 ORDER BY attempt",
            &[id.0.into()],
        )?;
        rows.iter()
            .map(|r| {
                Ok(AttemptRecord {
                    message: MessageId(r.int(0)?),
                    attempt: r.int(1)?,
                    at: Timestamp(r.int(2)?),
                    outcome: r.text(3)?,
                    detail: r.opt_text(4)?,
                    duration_ms: r.int(5)?,
                })
            })
            .collect()
    }
}

//! Messages and the event log.

use super::*;

impl Tx<'_> {
    // ---- messages -------------------------------------------------------------------

    /// Inserts a message; `sender` is the contact's address for an inbound one. For an
    /// inbound message whose (channel, sender, external id) is already stored, the unique
    /// index refuses it and this returns [`Error::DuplicateInbound`].
    pub fn insert_message(
        &mut self,
        m: &Message,
        channel: &ChannelId,
        sender: Option<&str>,
        payload: Option<&str>,
    ) -> Result<MessageId> {
        let id = self.c.insert(
            "INSERT INTO messages (conversation_id, seq, channel_id, direction, author_kind, agent_id, body, buttons, \
             status, external_id, reply_to, created_at, sender, payload) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
             ON CONFLICT (channel_id, sender, external_id) WHERE direction = 'inbound' DO NOTHING",
            &[
                m.conversation.0.into(),
                m.seq.into(),
                channel.as_str().into(),
                m.direction.as_str().into(),
                m.author.as_str().into(),
                m.agent.map(|a| a.0).into(),
                m.text.as_str().into(),
                json_text(&m.buttons)?,
                m.status.map(DeliveryStatus::as_str).into(),
                m.external_id.as_ref().into(),
                m.reply_to.map(|r| r.0).into(),
                m.created_at.0.into(),
                sender.into(),
                payload.into(),
            ],
        )?;
        id.map(MessageId).ok_or(Error::DuplicateInbound)
    }

    pub fn inbound_by_external_id(
        &mut self,
        channel: &ChannelId,
        sender: &str,
        external_id: &str,
    ) -> Result<Option<Message>> {
        let sql = format!(
            "SELECT {MESSAGE_COLS} FROM messages WHERE channel_id = $1 AND sender = $2 \
             AND external_id = $3 AND direction = 'inbound'"
        );
        self.c
            .query_opt(
                &sql,
                &[channel.as_str().into(), sender.into(), external_id.into()],
            )?
            .map(|r| message_from(&r))
            .transpose()
    }

    pub fn conversation_of_message(&mut self, id: MessageId) -> Result<Option<ConversationId>> {
        Ok(self
            .c
            .query_opt(
                "SELECT conversation_id FROM messages WHERE id = $1",
                &[id.0.into()],
            )?
            .map(|r| r.int(0))
            .transpose()?
            .map(ConversationId))
    }

    pub fn replies_to(&mut self, id: MessageId) -> Result<Vec<Message>> {
        let sql = format!("SELECT {MESSAGE_COLS} FROM messages WHERE reply_to = $1 ORDER BY seq");
        self.c
            .query(&sql, &[id.0.into()])?
            .iter()
            .map(message_from)
            .collect()
    }

    pub fn messages(&mut self, conversation: ConversationId) -> Result<Vec<Message>> {
        let sql =
            format!("SELECT {MESSAGE_COLS} FROM messages WHERE conversation_id = $1 ORDER BY seq");
        self.c
            .query(&sql, &[conversation.0.into()])?
            .iter()
            .map(message_from)
            .collect()
    }

    pub fn message(&mut self, id: MessageId) -> Result<Option<Message>> {
        let sql = format!("SELECT {MESSAGE_COLS} FROM messages WHERE id = $1");
        self.c
            .query_opt(&sql, &[id.0.into()])?
            .map(|r| message_from(&r))
            .transpose()
    }

    /// A provider's delivery status for the outbound message it calls `external_id`:
    /// moves it forward only (`sent < delivered < read`, `failed` terminal). A status
    /// for an id not (yet) recorded is kept and applied when the send is recorded.
    pub fn apply_status(&mut self, s: &StatusReport) -> Result<StatusApplied> {
        let found = self.c.query_opt(
            "SELECT id, conversation_id, status FROM messages WHERE channel_id = $1 AND external_id = $2 \
             AND direction = 'outbound' AND external_id IS NOT NULL",
            &[s.channel.as_str().into(), s.external_id.as_str().into()],
        )?;
        let Some(r) = found else {
            self.c.execute(
                "INSERT INTO early_statuses (channel_id, external_id, status, detail, at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (channel_id, external_id, status) DO NOTHING",
                &[
                    s.channel.as_str().into(),
                    s.external_id.as_str().into(),
                    s.status.as_str().into(),
                    s.detail.as_ref().into(),
                    s.at.0.into(),
                ],
            )?;
            return Ok(StatusApplied::Kept);
        };
        let id = MessageId(r.int("id")?);
        let conversation = ConversationId(r.int("conversation_id")?);
        let current = r
            .opt_text("status")?
            .and_then(|t| DeliveryStatus::parse(&t))
            .unwrap_or(DeliveryStatus::Queued);
        self.advance_delivery(
            id,
            conversation,
            current,
            s.status,
            s.detail.as_deref(),
            s.at,
        )
    }

    /// Moves one outbound message's status forward (never back) and records the event.
    fn advance_delivery(
        &mut self,
        id: MessageId,
        conversation: ConversationId,
        current: DeliveryStatus,
        status: DeliveryStatus,
        detail: Option<&str>,
        at: Timestamp,
    ) -> Result<StatusApplied> {
        let Some(next) = current.advance(status) else {
            return Ok(StatusApplied::Unchanged(id));
        };
        self.set_delivery(id, next, None)?;
        let kind = if next == DeliveryStatus::Failed {
            EventKind::DeliveryFailed
        } else {
            EventKind::DeliveryStatusChanged
        };
        self.insert_event(
            Some(conversation),
            &Event::new(
                kind,
                Actor::System,
                at,
                serde_json::json!({ "message": id, "status": next.as_str(), "detail": detail }),
            ),
        )?;
        Ok(StatusApplied::Moved(id, next))
    }

    /// The conversations of the contact at `address` on `channel`, newest first (at
    /// most `limit`).
    fn conversations_of_address(
        &mut self,
        channel: &ChannelId,
        address: &str,
        limit: u32,
    ) -> Result<Vec<ConversationId>> {
        let Some(contact) = self
            .c
            .query_opt(
                "SELECT contact_id FROM contact_identities WHERE channel_id = $1 AND address = $2",
                &[channel.as_str().into(), address.into()],
            )?
            .map(|r| r.int("contact_id"))
            .transpose()?
        else {
            return Ok(Vec::new());
        };
        self.c
            .query(
                "SELECT id FROM conversations WHERE contact_id = $1 AND channel_id = $2 ORDER BY id DESC LIMIT $3",
                &[contact.into(), channel.as_str().into(), i64::from(limit).into()],
            )?
            .iter()
            .map(|r| Ok(ConversationId(r.int("id")?)))
            .collect()
    }

    /// What a visitor of the web chat sees: the messages (not notes) of their last
    /// conversations on `channel` with an id above `after`, oldest first, at most
    /// `limit`, each with its payload (the buttons' ids).
    pub fn transcript_after(
        &mut self,
        channel: &ChannelId,
        address: &str,
        after: MessageId,
        limit: u32,
    ) -> Result<Vec<TranscriptEntry>> {
        let mut conversations = self.conversations_of_address(channel, address, 5)?;
        conversations.reverse();
        let sql = format!(
            "SELECT {MESSAGE_COLS}, payload FROM messages WHERE conversation_id = $1 AND id > $2 \
             AND direction <> 'note' ORDER BY seq LIMIT $3"
        );
        let mut out = Vec::new();
        for v in conversations {
            let room = limit as usize - out.len();
            if room == 0 {
                break;
            }
            for r in self
                .c
                .query(&sql, &[v.0.into(), after.0.into(), (room as i64).into()])?
            {
                let payload = r
                    .opt_text("payload")?
                    .and_then(|p| serde_json::from_str(&p).ok());
                out.push(TranscriptEntry {
                    message: message_from(&r)?,
                    payload,
                });
            }
        }
        Ok(out)
    }

    /// The conversation's latest inbound message, with its payload (an email's thread).
    pub fn last_inbound(
        &mut self,
        conversation: ConversationId,
    ) -> Result<Option<TranscriptEntry>> {
        let sql = format!(
            "SELECT {MESSAGE_COLS}, payload FROM messages WHERE conversation_id = $1 \
             AND direction = 'inbound' ORDER BY seq DESC LIMIT 1"
        );
        self.c
            .query_opt(&sql, &[conversation.0.into()])?
            .map(|r| {
                Ok(TranscriptEntry {
                    message: message_from(&r)?,
                    payload: r
                        .opt_text("payload")?
                        .and_then(|p| serde_json::from_str(&p).ok()),
                })
            })
            .transpose()
    }

    /// A web chat visitor has a page open (`seen_at`); `false` when they have no
    /// identity yet (nothing to record before their first message).
    pub fn visitor_seen(
        &mut self,
        channel: &ChannelId,
        address: &str,
        at: Timestamp,
    ) -> Result<bool> {
        Ok(self.c.execute(
            "UPDATE contact_identities SET seen_at = $1 WHERE channel_id = $2 AND address = $3",
            &[at.0.into(), channel.as_str().into(), address.into()],
        )? > 0)
    }

    /// When the web chat visitor at `address` last had a page open, on any node.
    pub fn visitor_seen_at(
        &mut self,
        channel: &ChannelId,
        address: &str,
    ) -> Result<Option<Timestamp>> {
        Ok(self
            .c
            .query_opt(
                "SELECT seen_at FROM contact_identities WHERE channel_id = $1 AND address = $2",
                &[channel.as_str().into(), address.into()],
            )?
            .map(|r| r.opt_int("seen_at"))
            .transpose()?
            .flatten()
            .map(Timestamp))
    }

    /// A web chat visitor has received (`delivered`) or seen (`read`) every message up
    /// to `up_to`: the outbound ones of their live conversation move forward.
    pub fn visitor_saw(
        &mut self,
        channel: &ChannelId,
        address: &str,
        up_to: MessageId,
        status: DeliveryStatus,
        at: Timestamp,
    ) -> Result<u64> {
        let mut n = 0;
        for v in self.conversations_of_address(channel, address, 1)? {
            let rows = self.c.query(
                "SELECT id, status FROM messages WHERE conversation_id = $1 AND id <= $2 \
                 AND direction = 'outbound' AND status IN ('sent', 'delivered')",
                &[v.0.into(), up_to.0.into()],
            )?;
            for r in rows {
                let current = r
                    .opt_text("status")?
                    .and_then(|t| DeliveryStatus::parse(&t))
                    .unwrap_or(DeliveryStatus::Sent);
                let id = MessageId(r.int("id")?);
                if let StatusApplied::Moved(..) =
                    self.advance_delivery(id, v, current, status, None, at)?
                {
                    n += 1;
                }
            }
        }
        Ok(n)
    }

    /// Messenger's `read` watermark: the live conversation's outbound messages sent
    /// (or delivered) up to it become `read`, each with its event.
    pub fn read_up_to(
        &mut self,
        channel: &ChannelId,
        address: &str,
        watermark: Timestamp,
    ) -> Result<u64> {
        let rows = self.c.query(
            "SELECT m.id, m.external_id FROM contact_identities i \
             JOIN conversations v ON v.channel_id = i.channel_id AND v.contact_id = i.contact_id AND v.status <> 'closed' \
             JOIN messages m ON m.conversation_id = v.id \
             WHERE i.channel_id = $1 AND i.address = $2 AND m.direction = 'outbound' \
               AND m.status IN ('sent', 'delivered') AND m.created_at <= $3 AND m.external_id IS NOT NULL",
            &[channel.as_str().into(), address.into(), watermark.0.into()],
        )?;
        let mut n = 0;
        for r in rows {
            let report = StatusReport {
                channel: channel.clone(),
                external_id: r.text("external_id")?,
                status: DeliveryStatus::Read,
                detail: None,
                at: watermark,
            };
            if let StatusApplied::Moved(..) = self.apply_status(&report)? {
                n += 1;
            }
        }
        Ok(n)
    }

    /// Statuses that arrived before `external_id` was recorded, applied now in order.
    pub fn apply_early_statuses(&mut self, channel: &ChannelId, external_id: &str) -> Result<()> {
        let rows = self.c.query(
            "DELETE FROM early_statuses WHERE channel_id = $1 AND external_id = $2 RETURNING status, detail, at",
            &[channel.as_str().into(), external_id.into()],
        )?;
        for r in rows {
            let Some(status) = DeliveryStatus::parse(&r.text("status")?) else {
                continue;
            };
            self.apply_status(&StatusReport {
                channel: channel.clone(),
                external_id: external_id.to_owned(),
                status,
                detail: r.opt_text("detail")?,
                at: Timestamp(r.int("at")?),
            })?;
        }
        Ok(())
    }

    pub fn set_delivery(
        &mut self,
        id: MessageId,
        status: DeliveryStatus,
        external_id: Option<&str>,
    ) -> Result<()> {
        self.c.execute(
            "UPDATE messages SET status = $1, external_id = COALESCE($2, external_id) WHERE id = $3",
            &[status.as_str().into(), external_id.into(), id.0.into()],
        )?;
        Ok(())
    }

    // ---- events ---------------------------------------------------------------------

    pub fn insert_event(&mut self, conversation: Option<ConversationId>, e: &Event) -> Result<()> {
        let (flow, version, step) = match &e.flow {
            Some(f) => (
                Some(f.flow.as_str()),
                Some(f.version),
                Some(f.step.as_str()),
            ),
            None => (None, None, None),
        };
        self.c.execute(
            "INSERT INTO events (conversation_id, at, kind, actor_kind, actor_id, flow, flow_version, step, data) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                conversation.map(|c| c.0).into(),
                e.at.0.into(),
                e.kind.as_str().into(),
                e.actor.kind_str().into(),
                e.actor.id().into(),
                flow.into(),
                version.into(),
                step.into(),
                json_text(&e.data)?,
            ],
        )?;
        if e.kind == EventKind::AdminAction {
            self.audit_change(e)?;
        }
        Ok(())
    }

    /// An admin change in the audit log, next to the reads: who, what, when, and from
    /// where when the API tells it (`via_token`, `from_ip` in the data); the change
    /// itself is the event's data.
    fn audit_change(&mut self, e: &Event) -> Result<()> {
        let action = e.data["action"].as_str().unwrap_or("change");
        let target = [
            "contact",
            "agent",
            "team",
            "channel",
            "flow",
            "webhook",
            "token",
            "conversation",
            "canned",
        ]
        .iter()
        .find_map(|k| match &e.data[*k] {
            serde_json::Value::Number(n) => Some(format!("{k}:{n}")),
            serde_json::Value::String(s) => Some(format!("{k}:{s}")),
            _ => None,
        })
        .unwrap_or_default();
        self.c.execute(
            "INSERT INTO audit_log (at, agent_id, token_id, action, target, ip, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                e.at.0.into(),
                e.actor.id().unwrap_or(0).into(),
                e.data["via_token"].as_i64().into(),
                format!("change:{action}").into(),
                target.into(),
                e.data["from_ip"].as_str().into(),
                json_text(&e.data)?,
            ],
        )?;
        Ok(())
    }

    pub fn events(
        &mut self,
        conversation: Option<ConversationId>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>> {
        let rows = match conversation {
            Some(c) => self.c.query(
                &format!("SELECT {EVENT_COLS} FROM events WHERE conversation_id = $1 AND id > $2 ORDER BY id LIMIT $3"),
                &[c.0.into(), after.into(), i64::from(limit).into()],
            )?,
            None => self.c.query(
                &format!("SELECT {EVENT_COLS} FROM events WHERE id > $1 ORDER BY id LIMIT $2"),
                &[after.into(), i64::from(limit).into()],
            )?,
        };
        rows.iter().map(event_from).collect()
    }

    /// The events after `after` (the stories' cursor) of the conversations a report
    /// covers, in log order: what the kept stories do not hold yet.
    pub fn report_tail(&mut self, after: i64, q: &ReportQuery) -> Result<Vec<StoredEvent>> {
        let cols: String = EVENT_COLS
            .split(", ")
            .map(|c| format!("e.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut params: Vec<Val> = vec![after.into(), q.from.0.into(), q.to.0.into()];
        let clauses = q.filters(&mut params);
        let sql = format!(
            // CROSS JOIN keeps SQLite's loop on the events after the cursor (few), not on
            // the period's conversations (many).
            "SELECT {cols} FROM events e CROSS JOIN conversations v \
             WHERE v.id = e.conversation_id AND e.id > $1 AND v.created_at >= $2 AND v.created_at < $3{clauses} \
             ORDER BY e.id"
        );
        self.c
            .query(&sql, &params)?
            .iter()
            .map(event_from)
            .collect()
    }
}

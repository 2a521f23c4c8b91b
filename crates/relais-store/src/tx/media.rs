//! Media customers send: a row per attachment, written with its message, then fetched
//! from the provider by the runtime's media loop (leased like the outbox) and kept.

use super::*;

impl Tx<'_> {
    /// An attachment whose content came with its message (an email's): stored at once.
    pub fn insert_stored_media(
        &mut self,
        msg: &Message,
        contact: ContactId,
        index: usize,
        a: &Attachment,
        now: Timestamp,
    ) -> Result<()> {
        self.c.execute(
            "INSERT INTO media (message_id, conversation_id, contact_id, channel_id, kind, provider_ref, mime_type, \
             filename, state, attempts, next_attempt_at, created_at, content, size) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'stored', 0, $9, $10, $11, $12)",
            &[
                msg.id.0.into(),
                msg.conversation.0.into(),
                contact.0.into(),
                msg.channel.as_str().into(),
                a.kind.as_str().into(),
                format!("inline:{index}").into(),
                a.mime_type.as_ref().into(),
                a.filename.as_ref().into(),
                now.0.into(),
                now.0.into(),
                a.content_base64.as_str().into(),
                a.size.into(),
            ],
        )?;
        Ok(())
    }

    pub fn insert_media(
        &mut self,
        message: MessageId,
        conversation: ConversationId,
        contact: ContactId,
        channel: &ChannelId,
        m: &InboundMedia,
        now: Timestamp,
    ) -> Result<()> {
        self.c.execute(
            "INSERT INTO media (message_id, conversation_id, contact_id, channel_id, kind, provider_ref, mime_type, \
             filename, state, attempts, next_attempt_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', 0, $9, $10)",
            &[
                message.0.into(),
                conversation.0.into(),
                contact.0.into(),
                channel.as_str().into(),
                m.kind.as_str().into(),
                m.provider_ref.as_str().into(),
                m.mime_type.as_ref().into(),
                m.filename.as_ref().into(),
                now.0.into(),
                now.0.into(),
            ],
        )?;
        Ok(())
    }

    /// Leases pending fetches that are due.
    pub fn claim_media(
        &mut self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<MediaJob>> {
        let rows = self.c.query(
            "UPDATE media SET lease_until = $1 WHERE id IN ( \
               SELECT id FROM media WHERE state = 'pending' AND next_attempt_at <= $2 \
                 AND (lease_until IS NULL OR lease_until < $2) ORDER BY next_attempt_at, id LIMIT $3) \
             RETURNING id, channel_id, kind, provider_ref, attempts",
            &[lease_until.0.into(), now.0.into(), i64::from(limit).into()],
        )?;
        rows.iter()
            .map(|r| {
                Ok(MediaJob {
                    id: r.int("id")?,
                    channel: ChannelId(r.text("channel_id")?),
                    kind: r.text("kind")?,
                    provider_ref: r.text("provider_ref")?,
                    attempts: r.int("attempts")?,
                })
            })
            .collect()
    }

    pub fn next_media_due(&mut self) -> Result<Option<Timestamp>> {
        let r = self.c.query_one(
            "SELECT MIN(next_attempt_at) FROM media WHERE state = 'pending'",
            &[],
        )?;
        Ok(r.opt_int(0)?.map(Timestamp))
    }

    /// What a fetch gave: the file, a retry, or a failure for good.
    pub fn settle_media(&mut self, id: i64, outcome: &MediaOutcome) -> Result<()> {
        match outcome {
            MediaOutcome::Stored {
                content_base64,
                mime_type,
                size,
            } => self.c.execute(
                "UPDATE media SET state = 'stored', content = $1, mime_type = COALESCE($2, mime_type), size = $3, \
                 attempts = attempts + 1, lease_until = NULL, detail = NULL WHERE id = $4",
                &[
                    content_base64.as_str().into(),
                    mime_type.as_ref().into(),
                    (*size).into(),
                    id.into(),
                ],
            )?,
            MediaOutcome::Retry { at, detail } => self.c.execute(
                "UPDATE media SET attempts = attempts + 1, next_attempt_at = $1, lease_until = NULL, detail = $2 \
                 WHERE id = $3",
                &[at.0.into(), detail.as_str().into(), id.into()],
            )?,
            MediaOutcome::Failed { detail } => self.c.execute(
                "UPDATE media SET state = 'failed', attempts = attempts + 1, lease_until = NULL, detail = $1 \
                 WHERE id = $2",
                &[detail.as_str().into(), id.into()],
            )?,
        };
        Ok(())
    }

    /// The attachments of a conversation's messages (without their content).
    pub fn conversation_media(&mut self, conversation: ConversationId) -> Result<Vec<MediaInfo>> {
        let rows = self.c.query(
            "SELECT id, message_id, kind, mime_type, filename, state, size, detail FROM media \
             WHERE conversation_id = $1 ORDER BY id",
            &[conversation.0.into()],
        )?;
        rows.iter().map(media_info).collect()
    }

    /// One attachment with its content, and its conversation (for the caller's check).
    pub fn media_file(
        &mut self,
        id: i64,
    ) -> Result<Option<(ConversationId, MediaInfo, Option<String>)>> {
        let Some(r) = self.c.query_opt(
            "SELECT id, message_id, conversation_id, kind, mime_type, filename, state, size, detail, content \
             FROM media WHERE id = $1",
            &[id.into()],
        )?
        else {
            return Ok(None);
        };
        Ok(Some((
            ConversationId(r.int("conversation_id")?),
            media_info(&r)?,
            r.opt_text("content")?,
        )))
    }
}

fn media_info(r: &Row) -> Result<MediaInfo> {
    Ok(MediaInfo {
        id: r.int("id")?,
        message: MessageId(r.int("message_id")?),
        kind: r.text("kind")?,
        mime_type: r.opt_text("mime_type")?,
        filename: r.opt_text("filename")?,
        state: r.text("state")?,
        size: r.opt_int("size")?,
        detail: r.opt_text("detail")?,
    })
}

//! [`Desk`] for [`SqlStore`]: what agents see and do.

use super::*;

#[async_trait]
impl<B: Backend> Desk for SqlStore<B> {
    async fn conversation(&self, id: ConversationId) -> Result<Option<ConversationView>> {
        self.read(move |tx| {
            let Some((conversation, address)) = tx.conversation(id, false)? else {
                return Ok(None);
            };
            let contact = tx.contact(conversation.contact)?;
            Ok(Some(ConversationView {
                conversation,
                contact,
                address,
            }))
        })
        .await
    }

    async fn conversations(&self, page: Page) -> Result<Vec<ConversationView>> {
        self.read(move |tx| tx.conversations(page)).await
    }

    async fn messages(&self, conversation: ConversationId) -> Result<Vec<Message>> {
        self.read(move |tx| tx.messages(conversation)).await
    }

    async fn events(
        &self,
        conversation: Option<ConversationId>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>> {
        self.read(move |tx| tx.events(conversation, after, limit))
            .await
    }

    async fn conversation_media(&self, conversation: ConversationId) -> Result<Vec<MediaInfo>> {
        self.read(move |tx| tx.conversation_media(conversation))
            .await
    }

    async fn media_for(
        &self,
        viewer: Viewer,
        id: i64,
    ) -> Result<Option<(MediaInfo, Option<String>)>> {
        self.read(move |tx| {
            let Some((conv, info, content)) = tx.media_file(id)? else {
                return Ok(None);
            };
            if !crate::desk::visible_to(tx, viewer, conv)? {
                return Ok(None);
            }
            Ok(Some((info, content)))
        })
        .await
    }

    async fn attempts_for(
        &self,
        viewer: Viewer,
        message: MessageId,
    ) -> Result<Option<Vec<AttemptRecord>>> {
        self.read(move |tx| {
            let Some(conv) = tx.conversation_of_message(message)? else {
                return Ok(None);
            };
            if !crate::desk::visible_to(tx, viewer, conv)? {
                return Ok(None);
            }
            tx.attempts(message).map(Some)
        })
        .await
    }

    async fn attempts(&self, message: MessageId) -> Result<Vec<AttemptRecord>> {
        self.read(move |tx| tx.attempts(message)).await
    }

    async fn act(&self, action: DeskAction) -> Result<DeskOutcome> {
        let life = self.life();
        self.write(move |tx| crate::desk::act(tx, &action, &life))
            .await
    }

    async fn set_presence(
        &self,
        agent: AgentId,
        presence: relais_core::agent::Presence,
        now: Timestamp,
    ) -> Result<Rerouted> {
        let life = self.life();
        self.write(move |tx| crate::desk::set_presence(tx, agent, presence, &life, now))
            .await
    }

    async fn desk_list(&self, query: DeskQuery) -> Result<Vec<DeskConversation>> {
        self.read(move |tx| crate::desk::list(tx, &query)).await
    }

    async fn desk_open(
        &self,
        viewer: Viewer,
        id: ConversationId,
    ) -> Result<Option<DeskConversation>> {
        // A write transaction: visibility is checked on the locked row.
        self.write(move |tx| crate::desk::open(tx, viewer, id))
            .await
    }

    async fn record_access(&self, e: AccessEntry) -> Result<()> {
        self.write(move |tx| {
            tx.c.execute(
                "INSERT INTO audit_log (at, agent_id, token_id, action, target, ip, detail) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    e.at.0.into(),
                    e.agent.0.into(),
                    e.token.into(),
                    e.action.as_str().into(),
                    e.target.as_str().into(),
                    e.ip.as_ref().into(),
                    e.detail.as_ref().into(),
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn access_log(&self, after: i64, limit: u32) -> Result<Vec<AccessEntry>> {
        self.read(move |tx| {
            tx.c.query(
                "SELECT id, at, agent_id, token_id, action, target, ip, detail FROM audit_log \
                 WHERE id > $1 ORDER BY id LIMIT $2",
                &[after.into(), i64::from(limit).into()],
            )?
            .iter()
            .map(|r| {
                Ok(AccessEntry {
                    id: r.int("id")?,
                    at: Timestamp(r.int("at")?),
                    agent: AgentId(r.int("agent_id")?),
                    token: r.opt_int("token_id")?,
                    action: r.text("action")?,
                    target: r.text("target")?,
                    ip: r.opt_text("ip")?,
                    detail: r.opt_text("detail")?,
                })
            })
            .collect()
        })
        .await
    }

    async fn report_stories(&self, query: ReportQuery) -> Result<Vec<relais_core::kpi::Story>> {
        self.read(move |tx| crate::facts::report(tx, &query)).await
    }

    async fn fold_stories(&self, limit: u32, now: Timestamp) -> Result<u64> {
        // Read and folded on a snapshot; the writer only saves the rows.
        let Some(fold) = self
            .read(move |tx| crate::facts::prepare(tx, limit, now))
            .await?
        else {
            return Ok(0);
        };
        let fold = Arc::new(fold);
        let theirs = fold.clone();
        let saved = self
            .write(move |tx| crate::facts::commit(tx, &theirs, now))
            .await?;
        Ok(if saved { fold.events } else { 0 })
    }

    async fn desk_peek(
        &self,
        viewer: Viewer,
        id: ConversationId,
    ) -> Result<Option<DeskConversation>> {
        self.read(move |tx| crate::desk::peek(tx, viewer, id)).await
    }

    async fn watch_page(&self, beat: PageBeat) -> Result<Vec<PageWatcher>> {
        self.write(move |tx| crate::desk::watch_page(tx, &beat))
            .await
    }

    async fn typing_now(&self, now: Timestamp) -> Result<Vec<(ChannelId, String)>> {
        self.read(move |tx| crate::desk::typing_now(tx, now)).await
    }

    fn shared(&self) -> bool {
        self.backend.shared()
    }

    async fn leave_page(&self, conversation: ConversationId, agent: AgentId) -> Result<()> {
        self.write(move |tx| crate::desk::leave_page(tx, conversation, agent))
            .await
    }

    async fn desk_counts(&self, viewer: Viewer) -> Result<Vec<(View, i64)>> {
        self.read(move |tx| crate::desk::counts(tx, viewer)).await
    }

    async fn mark_read(
        &self,
        agent: AgentId,
        conversation: ConversationId,
        upto: MessageId,
    ) -> Result<()> {
        self.write(move |tx| crate::desk::mark_read(tx, agent, conversation, upto))
            .await
    }

    async fn set_agent_language(&self, agent: AgentId, language: String) -> Result<bool> {
        self.write(move |tx| {
            Ok(tx.c.execute(
                "UPDATE agents SET language = $1 WHERE id = $2",
                &[language.as_str().into(), agent.0.into()],
            )? > 0)
        })
        .await
    }

    async fn set_agent_role(&self, agent: AgentId, role: relais_core::agent::Role) -> Result<()> {
        use crate::sql::ConnExt;
        self.write(move |tx| {
            let n = tx.c.execute(
                "UPDATE agents SET role = $1 WHERE id = $2",
                &[role.as_str().into(), agent.0.into()],
            )?;
            if n == 0 {
                return Err(Error::NotFound(format!("agent {agent}")));
            }
            // Never without an admin: the change is undone (the transaction fails).
            let admins =
                tx.c.query_one(
                    "SELECT COUNT(*) FROM agents WHERE role = 'admin' AND disabled = 0",
                    &[],
                )?
                .int(0)?;
            if admins == 0 {
                return Err(Error::Conflict(
                    "this is the last active admin: make another admin first".into(),
                ));
            }
            Ok(())
        })
        .await
    }

    async fn csat(&self, id: ConversationId) -> Result<Option<Csat>> {
        self.read(move |tx| tx.csat(id)).await
    }

    async fn agent_teams(&self, agent: AgentId) -> Result<Vec<String>> {
        self.read(move |tx| tx.agent_teams(agent)).await
    }

    async fn touch_agent(
        &self,
        agent: AgentId,
        now: Timestamp,
    ) -> Result<relais_core::agent::Presence> {
        self.write(move |tx| crate::desk::touch(tx, agent, now))
            .await
    }

    async fn idle_agents(&self, before: Timestamp) -> Result<Vec<AgentId>> {
        self.read(move |tx| crate::desk::idle(tx, before)).await
    }

    async fn canned(&self) -> Result<Vec<Canned>> {
        self.read(crate::desk::canned).await
    }

    async fn save_canned(&self, id: Option<i64>, canned: Canned, now: Timestamp) -> Result<Canned> {
        self.write(move |tx| crate::desk::save_canned(tx, id, &canned, now))
            .await
    }

    async fn delete_canned(&self, id: i64) -> Result<bool> {
        self.write(move |tx| crate::desk::delete_canned(tx, id))
            .await
    }

    async fn templates(&self) -> Result<Vec<StoredTemplate>> {
        self.read(crate::desk::templates).await
    }

    async fn save_template(
        &self,
        id: Option<i64>,
        template: StoredTemplate,
        now: Timestamp,
    ) -> Result<StoredTemplate> {
        self.write(move |tx| crate::desk::save_template(tx, id, &template, now))
            .await
    }

    async fn delete_template(&self, id: i64) -> Result<bool> {
        self.write(move |tx| crate::desk::delete_template(tx, id))
            .await
    }

    async fn articles(&self) -> Result<Vec<Article>> {
        self.read(crate::desk::articles).await
    }

    async fn save_article(
        &self,
        id: Option<i64>,
        article: NewArticle,
        now: Timestamp,
    ) -> Result<Article> {
        self.write(move |tx| crate::desk::save_article(tx, id, &article, now))
            .await
    }

    async fn delete_article(&self, id: i64) -> Result<bool> {
        self.write(move |tx| crate::desk::delete_article(tx, id))
            .await
    }

    async fn sync_articles(
        &self,
        files: Vec<ArticleFile>,
        now: Timestamp,
    ) -> Result<(usize, usize)> {
        self.write(move |tx| crate::desk::sync_articles(tx, &files, now))
            .await
    }
}

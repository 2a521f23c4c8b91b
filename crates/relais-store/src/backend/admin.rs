//! [`Admin`] for [`SqlStore`]: agents, tokens, channels, teams, settings, data.

use super::*;

#[async_trait]
impl<B: Backend> Admin for SqlStore<B> {
    async fn create_channel(&self, channel: NewChannel) -> Result<Channel> {
        self.write(move |tx| {
            tx.insert_channel(&channel)?;
            tx.channels()?
                .into_iter()
                .find(|c| c.id == channel.id)
                .ok_or_else(|| Error::NotFound(format!("channel {}", channel.id)))
        })
        .await
    }

    async fn channels(&self) -> Result<Vec<Channel>> {
        self.read(|tx| tx.channels()).await
    }

    async fn erase_contact(&self, contact: ContactId, now: Timestamp) -> Result<Erasure> {
        let out = self
            .write(move |tx| crate::forget::erase_contact(tx, contact, now))
            .await?;
        self.backend.scrub(crate::forget::TOUCHED).await?;
        Ok(out)
    }

    async fn retention_pass(
        &self,
        cutoff: Timestamp,
        how: Forget,
        limit: u32,
        now: Timestamp,
    ) -> Result<RetentionPass> {
        self.write(move |tx| crate::forget::retention_pass(tx, cutoff, how, limit, now))
            .await
    }

    async fn scrub(&self) -> Result<()> {
        self.backend.scrub(crate::forget::TOUCHED).await
    }

    async fn store_setting(&self, name: &str) -> Result<Option<String>> {
        let name = name.to_owned();
        self.read(move |tx| {
            crate::sql::ConnExt::query_opt(
                tx.c,
                "SELECT value FROM store_settings WHERE name = $1",
                &[name.into()],
            )?
            .map(|r| r.text("value"))
            .transpose()
        })
        .await
    }

    async fn set_store_setting(&self, name: &str, value: &str, now: Timestamp) -> Result<()> {
        let (name, value) = (name.to_owned(), value.to_owned());
        self.write(move |tx| {
            tx.c.execute(
                "INSERT INTO store_settings (name, value, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE SET value = $2, updated_at = $3",
                &[name.as_str().into(), value.as_str().into(), now.0.into()],
            )?;
            Ok(())
        })
        .await
    }

    async fn contact_card(&self, id: ContactId) -> Result<ContactCard> {
        self.read(move |tx| tx.contact_card(id)).await
    }

    async fn merge_contacts(
        &self,
        into: ContactId,
        from: ContactId,
        by: AgentId,
        now: Timestamp,
    ) -> Result<ContactCard> {
        self.write(move |tx| {
            tx.merge_contacts(into, from)?;
            tx.admin_event(
                by,
                now,
                serde_json::json!({ "action": "merge_contacts", "into": into, "from": from }),
            )?;
            tx.contact_card(into)
        })
        .await
    }

    async fn add_channel(&self, spec: ChannelSpec, now: Timestamp) -> Result<Channel> {
        self.write(move |tx| {
            tx.insert_configured_channel(&spec, false, now)?;
            tx.channels()?
                .into_iter()
                .find(|c| c.id == spec.id)
                .ok_or_else(|| Error::NotFound(format!("channel {}", spec.id)))
        })
        .await
    }

    async fn sync_channels(&self, specs: Vec<ChannelSpec>, now: Timestamp) -> Result<ChannelSync> {
        self.write(move |tx| tx.sync_channels(&specs, now)).await
    }

    async fn update_channel(&self, spec: ChannelSpec) -> Result<Channel> {
        self.write(move |tx| tx.update_configured_channel(&spec))
            .await
    }

    async fn set_channel_enabled(&self, id: &ChannelId, enabled: bool) -> Result<Channel> {
        let id = id.clone();
        self.write(move |tx| tx.set_channel_enabled(&id, enabled))
            .await
    }

    async fn set_channel_token(&self, id: &ChannelId, token_hash: &str) -> Result<bool> {
        let (id, hash) = (id.clone(), token_hash.to_owned());
        self.write(move |tx| tx.set_channel_token(&id, &hash)).await
    }

    async fn create_agent(&self, agent: NewAgent) -> Result<Agent> {
        self.write(move |tx| tx.insert_agent(&agent)).await
    }

    async fn set_password(&self, agent: AgentId, password_hash: String) -> Result<bool> {
        self.write(move |tx| tx.set_password(agent, &password_hash))
            .await
    }

    async fn agent_by_email(&self, email: &str) -> Result<Option<(Agent, Option<String>)>> {
        let email = email.to_owned();
        self.read(move |tx| tx.agent_by_email(&email)).await
    }

    async fn agents(&self) -> Result<Vec<Agent>> {
        self.read(|tx| tx.agents()).await
    }

    async fn create_token(&self, token: NewToken) -> Result<TokenInfo> {
        self.write(move |tx| {
            if tx.agent(token.agent)?.is_none() {
                return Err(Error::NotFound(format!("agent {}", token.agent)));
            }
            tx.insert_token(&token)
        })
        .await
    }

    async fn token_by_hash(
        &self,
        hash: &str,
        now: Timestamp,
    ) -> Result<Option<(TokenInfo, Agent)>> {
        let hash = hash.to_owned();
        self.read(move |tx| {
            let Some(token) = tx.token_by_hash(&hash, now)? else {
                return Ok(None);
            };
            Ok(tx
                .agent(token.agent)?
                .filter(|a| !a.disabled)
                .map(|a| (token, a)))
        })
        .await
    }

    async fn revoke_token(&self, id: i64, agent: AgentId, now: Timestamp) -> Result<bool> {
        self.write(move |tx| tx.revoke_token(id, agent, now)).await
    }

    async fn tokens(&self, agent: Option<AgentId>, now: Timestamp) -> Result<Vec<TokenInfo>> {
        self.read(move |tx| tx.live_tokens(agent, now)).await
    }

    async fn revoke_any_token(&self, id: i64, now: Timestamp) -> Result<bool> {
        self.write(move |tx| tx.revoke_any_token(id, now)).await
    }

    async fn deactivate_agent(
        &self,
        agent: AgentId,
        by: AgentId,
        now: Timestamp,
    ) -> Result<Rerouted> {
        let life = self.life();
        self.write(move |tx| crate::desk::deactivate(tx, agent, by, &life, now))
            .await
    }

    async fn totp(&self, agent: AgentId) -> Result<Option<Totp>> {
        self.read(move |tx| tx.totp(agent)).await
    }

    async fn change_totp(&self, agent: AgentId, change: TotpChange) -> Result<()> {
        self.write(move |tx| tx.change_totp(agent, &change)).await
    }

    async fn use_second_factor(
        &self,
        agent: AgentId,
        factor: SecondFactor,
        now: Timestamp,
    ) -> Result<bool> {
        self.write(move |tx| tx.use_second_factor(agent, &factor, now))
            .await
    }

    async fn activate_agent(&self, agent: AgentId, by: AgentId, now: Timestamp) -> Result<()> {
        self.write(move |tx| crate::desk::activate(tx, agent, by, now))
            .await
    }

    async fn record_event(&self, event: Event) -> Result<()> {
        self.write(move |tx| tx.insert_event(None, &event)).await
    }

    async fn publish_flows(
        &self,
        sources: Vec<FlowSource>,
        now: Timestamp,
    ) -> Result<Vec<(String, i64)>> {
        self.write(move |tx| crate::versions::publish(tx, &sources, now))
            .await
    }

    async fn flow_versions(&self, with_source: bool) -> Result<Vec<FlowVersion>> {
        self.read(move |tx| tx.flow_versions(with_source)).await
    }

    async fn sync_teams(
        &self,
        teams: Vec<TeamSpec>,
        members: Vec<MemberSpec>,
        now: Timestamp,
    ) -> Result<()> {
        self.write(move |tx| crate::desk::sync_teams(tx, &teams, &members, now))
            .await
    }

    async fn teams(&self) -> Result<Vec<TeamInfo>> {
        self.read(crate::desk::teams).await
    }

    async fn upsert_team(&self, team: TeamSpec, now: Timestamp) -> Result<()> {
        self.write(move |tx| crate::desk::upsert_team(tx, &team, now))
            .await
    }

    async fn set_agent_teams(&self, agent: AgentId, teams: Vec<String>) -> Result<()> {
        self.write(move |tx| crate::desk::set_members_of_agent(tx, agent, &teams))
            .await
    }

    async fn create_webhook(&self, webhook: NewWebhook) -> Result<Webhook> {
        self.write(move |tx| crate::webhooks::create(tx, &webhook))
            .await
    }

    async fn webhooks(&self) -> Result<Vec<Webhook>> {
        self.read(crate::webhooks::list).await
    }

    async fn delete_webhook(&self, id: i64, now: Timestamp) -> Result<bool> {
        self.write(move |tx| crate::webhooks::delete(tx, id, now))
            .await
    }

    async fn deliveries(&self, state: Option<String>, limit: u32) -> Result<Vec<Delivery>> {
        self.read(move |tx| crate::webhooks::deliveries(tx, state.as_deref(), limit))
            .await
    }

    async fn replay_delivery(&self, id: i64, now: Timestamp) -> Result<Delivery> {
        self.write(move |tx| crate::webhooks::replay(tx, id, now))
            .await
    }

    async fn stats(&self) -> Result<Stats> {
        self.read(|tx| tx.stats()).await
    }
}

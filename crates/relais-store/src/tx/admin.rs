//! Channels, agents, API tokens, and the counts tests read.

use super::*;

impl Tx<'_> {
    pub fn set_password(&mut self, agent: AgentId, password_hash: &str) -> Result<bool> {
        Ok(self.c.execute(
            "UPDATE agents SET password_hash = $1 WHERE id = $2",
            &[password_hash.into(), agent.0.into()],
        )? > 0)
    }

    // ---- channels, agents, tokens ---------------------------------------------------

    pub fn insert_channel(&mut self, ch: &NewChannel) -> Result<()> {
        let n = self.c.execute(
            "INSERT INTO channels (id, kind, name, token_hash, callback_url, callback_secret, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
            &[
                ch.id.as_str().into(),
                ch.kind.as_str().into(),
                ch.name.as_str().into(),
                ch.token_hash.as_ref().into(),
                ch.callback_url.as_ref().into(),
                ch.callback_secret.as_ref().into(),
                ch.created_at.0.into(),
            ],
        )?;
        if n == 0 {
            return Err(Error::AlreadyExists(format!("channel {}", ch.id)));
        }
        Ok(())
    }

    /// Creates or updates the file's channels; disables the ones an earlier file had.
    /// A channel's kind never changes: its history was written for that kind.
    pub fn sync_channels(&mut self, specs: &[ChannelSpec], now: Timestamp) -> Result<ChannelSync> {
        let existing = self.channels()?;
        let mut out = ChannelSync::default();
        for spec in specs {
            let settings = serde_json::to_string(&spec.settings)?;
            let names = serde_json::to_string(&spec.secret_names)?;
            match existing.iter().find(|c| c.id == spec.id) {
                Some(c) if c.kind != spec.kind => {
                    return Err(Error::Conflict(format!(
                        "the channel {} is a {} channel in the database; channels.yaml says {}: a channel's kind cannot change (give the new one another id)",
                        spec.id, c.kind, spec.kind
                    )));
                }
                Some(c) => {
                    let changed = c.settings != spec.settings
                        || c.secret_names != spec.secret_names
                        || c.default_flow != spec.default_flow
                        || c.fallback != spec.fallback
                        || !c.from_file
                        || !c.enabled
                        || (spec.token_hash.is_some() && c.token_hash != spec.token_hash);
                    if changed {
                        self.c.execute(
                            "UPDATE channels SET settings = $1, fallback = $2, from_file = 1, enabled = 1, \
                             token_hash = COALESCE($3, token_hash), secret_names = $4, default_flow = $5 WHERE id = $6",
                            &[
                                settings.as_str().into(),
                                spec.fallback.as_ref().map(ChannelId::as_str).into(),
                                spec.token_hash.as_ref().into(),
                                names.as_str().into(),
                                spec.default_flow.as_ref().into(),
                                spec.id.as_str().into(),
                            ],
                        )?;
                        out.updated.push(spec.id.clone());
                    }
                }
                None => {
                    self.insert_configured_channel(spec, true, now)?;
                    out.created.push(spec.id.clone());
                }
            }
        }
        for c in existing.iter().filter(|c| c.from_file && c.enabled) {
            if !specs.iter().any(|s| s.id == c.id) {
                self.c.execute(
                    "UPDATE channels SET enabled = 0 WHERE id = $1",
                    &[c.id.as_str().into()],
                )?;
                out.disabled.push(c.id.clone());
            }
        }
        Ok(out)
    }

    /// What an admin did, in the same transaction as the change, with who did it.
    pub fn admin_event(
        &mut self,
        by: AgentId,
        now: Timestamp,
        data: serde_json::Value,
    ) -> Result<()> {
        use relais_core::event::{Actor, Event, EventKind};
        self.insert_event(
            None,
            &Event::new(EventKind::AdminAction, Actor::Agent(by), now, data),
        )
    }

    /// A channel with its kind's settings, from channels.yaml (`from_file`) or the API.
    pub fn insert_configured_channel(
        &mut self,
        spec: &ChannelSpec,
        from_file: bool,
        now: Timestamp,
    ) -> Result<()> {
        let n = self.c.execute(
            "INSERT INTO channels (id, kind, name, token_hash, created_at, settings, fallback, from_file, enabled, \
             secret_names, default_flow) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $10) ON CONFLICT (id) DO NOTHING",
            &[
                spec.id.as_str().into(),
                spec.kind.as_str().into(),
                spec.id.as_str().into(),
                spec.token_hash.as_ref().into(),
                now.0.into(),
                serde_json::to_string(&spec.settings)?.as_str().into(),
                spec.fallback.as_ref().map(ChannelId::as_str).into(),
                i64::from(from_file).into(),
                serde_json::to_string(&spec.secret_names)?.as_str().into(),
                spec.default_flow.as_ref().into(),
            ],
        )?;
        if n == 0 {
            return Err(Error::AlreadyExists(format!("channel {}", spec.id)));
        }
        Ok(())
    }

    /// Replaces the settings, secret names, fallback and default flow of a channel made
    /// through the API (a channel of channels.yaml is the file's, and a channel's kind
    /// never changes: both refused).
    pub fn update_configured_channel(&mut self, spec: &ChannelSpec) -> Result<Channel> {
        let channel = self
            .channels()?
            .into_iter()
            .find(|c| c.id == spec.id)
            .ok_or_else(|| Error::NotFound(format!("channel {}", spec.id)))?;
        if channel.from_file {
            return Err(Error::Conflict(format!(
                "the channel {} is defined in channels.yaml: change the file",
                spec.id
            )));
        }
        if channel.kind != spec.kind {
            return Err(Error::Conflict(format!(
                "the channel {} is a {} channel: a channel's kind never changes (make a new one)",
                spec.id, channel.kind
            )));
        }
        self.c.execute(
            "UPDATE channels SET settings = $1, fallback = $2, secret_names = $3, default_flow = $4 WHERE id = $5",
            &[
                serde_json::to_string(&spec.settings)?.as_str().into(),
                spec.fallback.as_ref().map(ChannelId::as_str).into(),
                serde_json::to_string(&spec.secret_names)?.as_str().into(),
                spec.default_flow.as_ref().into(),
                spec.id.as_str().into(),
            ],
        )?;
        self.channels()?
            .into_iter()
            .find(|c| c.id == spec.id)
            .ok_or_else(|| Error::NotFound(format!("channel {}", spec.id)))
    }

    /// Turns a channel made through the API on or off (a channel of channels.yaml is
    /// the file's: refused).
    pub fn set_channel_enabled(&mut self, id: &ChannelId, enabled: bool) -> Result<Channel> {
        let channel = self
            .channels()?
            .into_iter()
            .find(|c| c.id == *id)
            .ok_or_else(|| Error::NotFound(format!("channel {id}")))?;
        if channel.from_file {
            return Err(Error::Conflict(format!(
                "the channel {id} is defined in channels.yaml: change the file (a channel it no longer has is disabled)"
            )));
        }
        self.c.execute(
            "UPDATE channels SET enabled = $1 WHERE id = $2",
            &[i64::from(enabled).into(), id.as_str().into()],
        )?;
        Ok(Channel { enabled, ..channel })
    }

    pub fn set_channel_token(&mut self, id: &ChannelId, token_hash: &str) -> Result<bool> {
        let n = self.c.execute(
            "UPDATE channels SET token_hash = $1 WHERE id = $2",
            &[token_hash.into(), id.as_str().into()],
        )?;
        Ok(n == 1)
    }

    pub fn channels(&mut self) -> Result<Vec<Channel>> {
        let rows = self.c.query(
            "SELECT id, kind, name, token_hash, callback_url, callback_secret, created_at, settings, fallback, \
             from_file, enabled, secret_names, default_flow FROM channels ORDER BY id",
            &[],
        )?;
        rows.iter()
            .map(|r| {
                Ok(Channel {
                    id: ChannelId(r.text("id")?),
                    kind: r.text("kind")?,
                    name: r.text("name")?,
                    token_hash: r.opt_text("token_hash")?,
                    callback_url: r.opt_text("callback_url")?,
                    callback_secret: r.opt_text("callback_secret")?,
                    created_at: Timestamp(r.int("created_at")?),
                    settings: serde_json::from_str(&r.text("settings")?)
                        .map_err(|e| Error::Corrupt(format!("channel settings: {e}")))?,
                    fallback: r.opt_text("fallback")?.map(ChannelId),
                    from_file: r.int("from_file")? != 0,
                    enabled: r.int("enabled")? != 0,
                    secret_names: serde_json::from_str(&r.text("secret_names")?)
                        .map_err(|e| Error::Corrupt(format!("channel secret names: {e}")))?,
                    default_flow: r.opt_text("default_flow")?,
                })
            })
            .collect()
    }

    pub fn insert_agent(&mut self, a: &NewAgent) -> Result<Agent> {
        let r = self.c.query_opt(
            "INSERT INTO agents (email, name, role, password_hash, presence, capacity, disabled, created_at) \
             VALUES ($1, $2, $3, $4, 'offline', $5, 0, $6) ON CONFLICT (email) DO NOTHING RETURNING id",
            &[
                a.email.as_str().into(),
                a.name.as_str().into(),
                a.role.as_str().into(),
                a.password_hash.as_ref().into(),
                a.capacity.into(),
                a.created_at.0.into(),
            ],
        )?;
        let Some(r) = r else {
            return Err(Error::AlreadyExists(format!("agent {}", a.email)));
        };
        Ok(Agent {
            id: AgentId(r.int(0)?),
            email: a.email.clone(),
            name: a.name.clone(),
            role: a.role,
            presence: Presence::Offline,
            capacity: a.capacity,
            disabled: false,
            created_at: a.created_at,
            language: "en".into(),
        })
    }

    pub fn agent(&mut self, id: AgentId) -> Result<Option<Agent>> {
        let sql = format!("SELECT {AGENT_COLS} FROM agents WHERE id = $1");
        self.c
            .query_opt(&sql, &[id.0.into()])?
            .map(|r| agent_from(&r))
            .transpose()
    }

    pub fn agent_by_email(&mut self, email: &str) -> Result<Option<(Agent, Option<String>)>> {
        let sql = format!("SELECT {AGENT_COLS}, password_hash FROM agents WHERE email = $1");
        self.c
            .query_opt(&sql, &[email.into()])?
            .map(|r| Ok((agent_from(&r)?, r.opt_text("password_hash")?)))
            .transpose()
    }

    pub fn agents(&mut self) -> Result<Vec<Agent>> {
        let sql = format!("SELECT {AGENT_COLS} FROM agents ORDER BY id");
        self.c.query(&sql, &[])?.iter().map(agent_from).collect()
    }

    pub fn insert_token(&mut self, t: &NewToken) -> Result<TokenInfo> {
        let r = self.c.query_one(
            "INSERT INTO api_tokens (agent_id, name, hash, scopes, kind, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            &[
                t.agent.0.into(),
                t.name.as_str().into(),
                t.hash.as_str().into(),
                json_text(&t.scopes)?,
                t.kind.as_str().into(),
                t.created_at.0.into(),
                t.expires_at.map(|e| e.0).into(),
            ],
        )?;
        Ok(TokenInfo {
            id: r.int(0)?,
            agent: t.agent,
            name: t.name.clone(),
            scopes: t.scopes.clone(),
            kind: t.kind.clone(),
            created_at: t.created_at,
            expires_at: t.expires_at,
        })
    }

    pub fn token_by_hash(&mut self, hash: &str, now: Timestamp) -> Result<Option<TokenInfo>> {
        let sql = format!(
            "SELECT {TOKEN_COLS} FROM api_tokens WHERE hash = $1 AND revoked_at IS NULL \
             AND (expires_at IS NULL OR expires_at > $2)"
        );
        self.c
            .query_opt(&sql, &[hash.into(), now.0.into()])?
            .map(|r| token_from(&r))
            .transpose()
    }

    pub fn revoke_token(&mut self, id: i64, agent: AgentId, now: Timestamp) -> Result<bool> {
        let n = self.c.execute(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND agent_id = $3 AND revoked_at IS NULL",
            &[now.0.into(), id.into(), agent.0.into()],
        )?;
        Ok(n == 1)
    }

    pub fn live_tokens(
        &mut self,
        agent: Option<AgentId>,
        now: Timestamp,
    ) -> Result<Vec<TokenInfo>> {
        let live = "revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $1)";
        let rows = match agent {
            Some(a) => self.c.query(
                &format!(
                    "SELECT {TOKEN_COLS} FROM api_tokens WHERE {live} AND agent_id = $2 ORDER BY id"
                ),
                &[now.0.into(), a.0.into()],
            )?,
            None => self.c.query(
                &format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE {live} ORDER BY id"),
                &[now.0.into()],
            )?,
        };
        rows.iter().map(token_from).collect()
    }

    pub fn revoke_any_token(&mut self, id: i64, now: Timestamp) -> Result<bool> {
        let n = self.c.execute(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
            &[now.0.into(), id.into()],
        )?;
        Ok(n == 1)
    }

    /// Revokes every live token of `agent`; how many.
    pub fn revoke_tokens_of(&mut self, agent: AgentId, now: Timestamp) -> Result<u64> {
        self.c.execute(
            "UPDATE api_tokens SET revoked_at = $1 WHERE agent_id = $2 AND revoked_at IS NULL",
            &[now.0.into(), agent.0.into()],
        )
    }

    pub fn set_agent_disabled(&mut self, agent: AgentId, disabled: bool) -> Result<bool> {
        let n = self.c.execute(
            "UPDATE agents SET disabled = $1 WHERE id = $2",
            &[i64::from(disabled).into(), agent.0.into()],
        )?;
        Ok(n == 1)
    }

    /// Admins that are not disabled.
    pub fn active_admins(&mut self) -> Result<i64> {
        self.c
            .query_one(
                "SELECT COUNT(*) FROM agents WHERE role = 'admin' AND disabled = 0",
                &[],
            )?
            .int(0)
    }

    pub fn totp(&mut self, agent: AgentId) -> Result<Option<Totp>> {
        let r = self.c.query_opt(
            "SELECT totp_secret, totp_enabled, totp_last_step FROM agents WHERE id = $1",
            &[agent.0.into()],
        )?;
        let Some(r) = r else {
            return Err(Error::NotFound(format!("agent {agent}")));
        };
        Ok(match r.opt_text("totp_secret")? {
            None => None,
            Some(secret) => Some(Totp {
                secret,
                enabled: r.int("totp_enabled")? != 0,
                last_step: r.opt_int("totp_last_step")?,
            }),
        })
    }

    pub fn change_totp(&mut self, agent: AgentId, change: &TotpChange) -> Result<()> {
        if self.agent(agent)?.is_none() {
            return Err(Error::NotFound(format!("agent {agent}")));
        }
        self.c.execute(
            "DELETE FROM recovery_codes WHERE agent_id = $1",
            &[agent.0.into()],
        )?;
        match change {
            TotpChange::Begin { secret } => {
                self.c.execute(
                    "UPDATE agents SET totp_secret = $1, totp_enabled = 0, totp_last_step = NULL WHERE id = $2",
                    &[secret.as_str().into(), agent.0.into()],
                )?;
            }
            TotpChange::Enable {
                step,
                recovery_hashes,
            } => {
                self.c.execute(
                    "UPDATE agents SET totp_enabled = 1, totp_last_step = $1 WHERE id = $2",
                    &[(*step).into(), agent.0.into()],
                )?;
                for h in recovery_hashes {
                    self.c.execute(
                        "INSERT INTO recovery_codes (agent_id, hash) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                        &[agent.0.into(), h.as_str().into()],
                    )?;
                }
            }
            TotpChange::Disable => {
                self.c.execute(
                    "UPDATE agents SET totp_secret = NULL, totp_enabled = 0, totp_last_step = NULL WHERE id = $1",
                    &[agent.0.into()],
                )?;
            }
        }
        Ok(())
    }

    /// The conditional UPDATE is the check: two logins racing with one code, one wins.
    pub fn use_second_factor(
        &mut self,
        agent: AgentId,
        factor: &SecondFactor,
        now: Timestamp,
    ) -> Result<bool> {
        let n = match factor {
            SecondFactor::Step(step) => self.c.execute(
                "UPDATE agents SET totp_last_step = $1 WHERE id = $2 AND totp_enabled = 1 \
                 AND (totp_last_step IS NULL OR totp_last_step < $3)",
                &[(*step).into(), agent.0.into(), (*step).into()],
            )?,
            SecondFactor::Recovery(hash) => self.c.execute(
                "UPDATE recovery_codes SET used_at = $1 WHERE agent_id = $2 AND hash = $3 AND used_at IS NULL",
                &[now.0.into(), agent.0.into(), hash.as_str().into()],
            )?,
        };
        Ok(n == 1)
    }

    pub fn stats(&mut self) -> Result<Stats> {
        let r = self.c.query_one(
            "SELECT (SELECT COUNT(*) FROM contacts), (SELECT COUNT(*) FROM conversations), \
             (SELECT COUNT(*) FROM messages), (SELECT COUNT(*) FROM messages WHERE direction = 'inbound'), \
             (SELECT COUNT(*) FROM events), (SELECT COUNT(*) FROM timers WHERE state = 'pending'), \
             (SELECT COUNT(*) FROM outbox)",
            &[],
        )?;
        Ok(Stats {
            contacts: r.int(0)?,
            conversations: r.int(1)?,
            messages: r.int(2)?,
            inbound: r.int(3)?,
            events: r.int(4)?,
            pending_timers: r.int(5)?,
            queued_outbox: r.int(6)?,
        })
    }
}

//! Agents' actions in the runtime: each runs in its conversation's lane (so it never
//! interleaves with the customer's messages), then hands new timers to the wheel, wakes
//! the outbox and the live feed.

use super::Runtime;
use relais_core::agent::Presence;
use relais_core::id::AgentId;
use relais_store::{DeskAction, DeskOutcome, Rerouted};

impl Runtime {
    pub async fn act(&self, mut action: DeskAction) -> Result<DeskOutcome, relais_store::Error> {
        // The lane key needs the conversation's channel and address; a conversation the
        // agent may not see answers NotFound from the store, without waiting.
        let lane = self
            .store
            .conversation(action.conversation)
            .await?
            .map(|v| relais_store::Lane {
                channel: v.conversation.channel,
                address: v.address,
            });
        let guard = match lane {
            Some(l) => Some(self.lanes.lock(l).await),
            None => None,
        };
        action.now = self.clock.now();
        if !self.settings.mask.is_empty() {
            use relais_store::Act;
            if let Act::Reply { text, .. } | Act::Note { text } = &mut action.act {
                *text = relais_core::privacy::mask(text, &self.settings.mask).into_owned();
            }
        }
        let mut out = self.store.act(action).await?;
        self.after_commit(&mut out, false).await?;
        drop(guard);
        Ok(out)
    }

    pub async fn set_presence(
        &self,
        agent: AgentId,
        presence: Presence,
    ) -> Result<Rerouted, relais_store::Error> {
        let mut out = self
            .store
            .set_presence(agent, presence, self.clock.now())
            .await?;
        self.after_commit(&mut out, false).await?;
        Ok(out)
    }

    /// Disables an agent; their conversations returned to the queue are assigned anew.
    pub async fn deactivate_agent(
        &self,
        agent: AgentId,
        by: AgentId,
    ) -> Result<Rerouted, relais_store::Error> {
        let mut out = self
            .store
            .deactivate_agent(agent, by, self.clock.now())
            .await?;
        self.after_commit(&mut out, false).await?;
        Ok(out)
    }

    /// Records an agent's activity.
    pub async fn touch(&self, agent: AgentId) -> Result<Presence, relais_store::Error> {
        self.store.touch_agent(agent, self.clock.now()).await
    }

    /// An agent at work: their activity is recorded and, if they were away or
    /// offline, they are online again (presence follows activity).
    pub async fn seen(&self, agent: AgentId) -> Result<(), relais_store::Error> {
        if self.touch(agent).await? != Presence::Online {
            self.set_presence(agent, Presence::Online).await?;
        }
        Ok(())
    }

    /// Online agents idle for `[handoff] idle_after` become away (and the away rules
    /// then apply to their conversations).
    pub async fn sweep_idle(&self) -> Result<(), relais_store::Error> {
        let Some(idle) = self.tunable().lifecycle.idle_after else {
            return Ok(());
        };
        let before = relais_core::Timestamp(self.clock.now().0 - idle.0);
        for agent in self.store.idle_agents(before).await? {
            self.set_presence(agent, Presence::Away).await?;
        }
        Ok(())
    }

    /// Tells live streams that new events may be in the log.
    pub fn poke_feed(&self) {
        self.feed.send_modify(|n| *n = n.wrapping_add(1));
    }
}

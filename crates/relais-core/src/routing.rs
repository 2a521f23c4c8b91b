//! Routing and assignment (SPEC §5), pure: which agent takes a conversation, in which
//! order a queue drains, and how long a customer should expect to wait.

use crate::agent::Presence;
use crate::conversation::Priority;
use crate::id::{AgentId, ConversationId};
use crate::time::{Duration, Timestamp};
use std::cmp::Reverse;

/// How a team hands its conversations to agents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Strategy {
    /// The online agent with room who was assigned least recently.
    RoundRobin,
    /// The online agent with room who has the fewest open conversations.
    LeastBusy,
    /// Nobody is assigned automatically: agents pick from the queue.
    Manual,
}

impl Strategy {
    pub const ALL: [Strategy; 3] = [Strategy::RoundRobin, Strategy::LeastBusy, Strategy::Manual];

    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::RoundRobin => "round_robin",
            Strategy::LeastBusy => "least_busy",
            Strategy::Manual => "manual",
        }
    }

    pub fn parse(s: &str) -> Option<Strategy> {
        Strategy::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// An agent as the assignment sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub agent: AgentId,
    pub presence: Presence,
    /// Conversations this agent may hold at once.
    pub capacity: u32,
    /// Conversations they hold now (open or pending).
    pub load: u32,
    pub last_assigned: Option<Timestamp>,
}

impl Candidate {
    pub fn has_room(&self) -> bool {
        self.presence == Presence::Online && self.load < self.capacity
    }
}

/// The agent who takes the next conversation, or `None` (nobody online with room, or a
/// manual team). Ties go to the lowest agent id, so the choice is deterministic.
pub fn pick(strategy: Strategy, candidates: &[Candidate]) -> Option<AgentId> {
    let open = candidates.iter().filter(|c| c.has_room());
    let best = match strategy {
        Strategy::Manual => None,
        // `None` (never assigned) sorts before any time: newcomers get work first.
        Strategy::RoundRobin => open.min_by_key(|c| (c.last_assigned, c.agent)),
        Strategy::LeastBusy => open.min_by_key(|c| (c.load, c.last_assigned, c.agent)),
    };
    best.map(|c| c.agent)
}

/// How urgent a priority is: higher drains first.
pub fn rank(p: Priority) -> u8 {
    match p {
        Priority::Low => 0,
        Priority::Normal => 1,
        Priority::High => 2,
        Priority::Urgent => 3,
    }
}

/// A conversation waiting in a queue.
/// A priority's place in the store's queue index (`queue_rank`): urgent 0, high 1,
/// normal 2, low 3, so that ascending order is drain order. The migrations compute the
/// same number from the `priority` column.
pub fn queue_rank(p: Priority) -> u8 {
    3 - rank(p)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Waiting {
    pub conversation: ConversationId,
    pub priority: Priority,
    pub queued_at: Timestamp,
}

/// The order a queue drains in: priority first (`urgent` > `high` > `normal` > `low`),
/// then oldest first, then by id.
pub fn drain_order(queue: &mut [Waiting]) {
    queue.sort_by_key(|w| (Reverse(rank(w.priority)), w.queued_at, w.conversation));
}

/// The 1-based place a newcomer of `priority` takes in a queue that holds
/// `waiting[queue_rank]` conversations per priority (urgent first), `arrived_later` of
/// which (same priority, queued after the newcomer's time) it does not wait behind: all
/// of a higher priority and the older ones of its own are ahead.
pub fn queue_position(waiting: &[u64; 4], priority: Priority, arrived_later: u64) -> u32 {
    let rank = usize::from(queue_rank(priority));
    let ahead = waiting[..=rank].iter().sum::<u64>() - arrived_later.min(waiting[rank]);
    u32::try_from(ahead).unwrap_or(u32::MAX).saturating_add(1)
}

/// The expected wait of the customer at `position` (1-based): the median of recent
/// handling times, times the rounds of work ahead of them among `agents` working
/// agents. `None` when there is nothing to base it on (no history or nobody working).
pub fn estimate_wait(position: u32, agents: u32, recent: &[Duration]) -> Option<Duration> {
    if recent.is_empty() || agents == 0 {
        return None;
    }
    let mut sorted: Vec<i64> = recent.iter().map(|d| d.0.max(0)).collect();
    sorted.sort_unstable();
    let median = sorted[sorted.len() / 2];
    let rounds = i64::from(position.saturating_sub(1) / agents) + 1;
    Some(Duration(median.saturating_mul(rounds)))
}

/// A wait as customers read it, rounded up to whole minutes ("5 min", "1 h 10 min").
pub fn wait_text(wait: Duration) -> String {
    let minutes = (wait.0 + 59_999) / 60_000;
    let minutes = minutes.max(1);
    if minutes < 60 {
        format!("{minutes} min")
    } else if minutes % 60 == 0 {
        format!("{} h", minutes / 60)
    } else {
        format!("{} h {} min", minutes / 60, minutes % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(id: i64, presence: Presence, load: u32, last: Option<i64>) -> Candidate {
        Candidate {
            agent: AgentId(id),
            presence,
            capacity: 2,
            load,
            last_assigned: last.map(Timestamp),
        }
    }

    #[test]
    fn round_robin_takes_the_least_recently_assigned_online_agent_with_room() {
        let agents = [
            c(1, Presence::Online, 0, Some(50)),
            c(2, Presence::Online, 1, Some(10)),
            c(3, Presence::Away, 0, None),
            c(4, Presence::Online, 2, None),
            c(5, Presence::Offline, 0, None),
        ];
        assert_eq!(pick(Strategy::RoundRobin, &agents), Some(AgentId(2)));
        let fresh = [
            c(1, Presence::Online, 0, Some(5)),
            c(2, Presence::Online, 0, None),
        ];
        assert_eq!(pick(Strategy::RoundRobin, &fresh), Some(AgentId(2)));
    }

    #[test]
    fn least_busy_takes_the_lightest_load_and_manual_nobody() {
        let agents = [
            c(1, Presence::Online, 1, None),
            c(2, Presence::Online, 0, Some(99)),
            c(3, Presence::Online, 0, Some(10)),
        ];
        assert_eq!(pick(Strategy::LeastBusy, &agents), Some(AgentId(3)));
        assert_eq!(pick(Strategy::Manual, &agents), None);
    }

    #[test]
    fn nobody_with_room_means_the_conversation_waits() {
        let agents = [
            c(1, Presence::Online, 2, None),
            c(2, Presence::Away, 0, None),
            c(3, Presence::Offline, 0, None),
        ];
        for s in Strategy::ALL {
            assert_eq!(pick(s, &agents), None, "{s:?}");
        }
    }

    #[test]
    fn queues_drain_by_priority_then_oldest_first() {
        let w = |id, p, at| Waiting {
            conversation: ConversationId(id),
            priority: p,
            queued_at: Timestamp(at),
        };
        let mut q = vec![
            w(1, Priority::Normal, 10),
            w(2, Priority::Low, 1),
            w(3, Priority::Urgent, 30),
            w(4, Priority::High, 20),
            w(5, Priority::Normal, 5),
            w(6, Priority::High, 15),
        ];
        drain_order(&mut q);
        let ids: Vec<i64> = q.iter().map(|w| w.conversation.0).collect();
        assert_eq!(ids, vec![3, 6, 4, 5, 1, 2]);
        // The queue per priority, urgent first: 1 urgent, 2 high, 2 normal, 1 low.
        let mut waiting = [0u64; 4];
        for w in &q {
            waiting[usize::from(queue_rank(w.priority))] += 1;
        }
        // A newcomer of normal priority goes after everything above normal and after
        // the older normal ones; one that arrived after it is not ahead.
        assert_eq!(queue_position(&waiting, Priority::Normal, 0), 6);
        assert_eq!(queue_position(&waiting, Priority::Normal, 1), 5);
        assert_eq!(queue_position(&waiting, Priority::Urgent, 0), 2);
        assert_eq!(queue_position(&[0; 4], Priority::Low, 0), 1);
        assert_eq!(
            queue_position(&[0, 0, 1, 0], Priority::Normal, 5),
            1,
            "never below 1"
        );
    }

    #[test]
    fn the_wait_grows_with_the_rounds_ahead() {
        let recent = [
            Duration::minutes(4),
            Duration::minutes(6),
            Duration::minutes(20),
        ];
        assert_eq!(estimate_wait(1, 2, &recent), Some(Duration::minutes(6)));
        assert_eq!(estimate_wait(3, 2, &recent), Some(Duration::minutes(12)));
        assert_eq!(estimate_wait(3, 0, &recent), None);
        assert_eq!(estimate_wait(3, 2, &[]), None);
        assert_eq!(wait_text(Duration::minutes(6)), "6 min");
        assert_eq!(wait_text(Duration(1)), "1 min");
        assert_eq!(wait_text(Duration::minutes(70)), "1 h 10 min");
        assert_eq!(wait_text(Duration::minutes(120)), "2 h");
    }

    #[test]
    fn queue_rank_ascending_is_drain_order() {
        let ps = [
            Priority::Low,
            Priority::Urgent,
            Priority::Normal,
            Priority::High,
        ];
        let mut by_rank = ps;
        by_rank.sort_by_key(|p| queue_rank(*p));
        let mut queue: Vec<Waiting> = ps
            .iter()
            .enumerate()
            .map(|(i, p)| Waiting {
                conversation: ConversationId(i as i64),
                priority: *p,
                queued_at: Timestamp(0),
            })
            .collect();
        drain_order(&mut queue);
        assert_eq!(
            queue.iter().map(|w| w.priority).collect::<Vec<_>>(),
            by_rank
        );
        assert_eq!(by_rank.map(queue_rank), [0, 1, 2, 3]);
    }
}

//! KPIs read from the event log (SPEC §10), pure: the events of the conversations
//! started in a period go in (in log order), the figures come out. Nothing here is a
//! counter kept on the side; the definitions are in `docs/kpis.md`, whose worked
//! example is the test `the_worked_example_of_docs_kpis_md`.

use crate::event::{Actor, Event, EventKind};
use crate::time::Duration;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// Unit costs (`[costs]` of relais.toml), in the business's currency.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Costs {
    /// What one conversation costs the bot (platform, messages).
    pub per_conversation: f64,
    /// What an hour of an agent's handling costs.
    pub agent_hour: f64,
}

/// First-response targets (`[sla]`): a default and per team.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sla {
    pub first_response: Option<Duration>,
    pub teams: HashMap<String, Duration>,
}

impl Sla {
    fn target(&self, team: Option<&str>) -> Option<Duration> {
        team.and_then(|t| self.teams.get(t).copied())
            .or(self.first_response)
    }
}

/// What a report is asked for: the conversations started in `[from, to)` (ms), and
/// optionally only those that ran a flow.
#[derive(Debug, Clone, Default)]
pub struct Scope<'a> {
    pub from: i64,
    pub to: i64,
    pub flow: Option<&'a str>,
    /// When the report is made: a conversation escalated and still unanswered at `now`
    /// past its target counts as a breach.
    pub now: i64,
}

/// Median and 90th percentile (nearest rank) of durations, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct Spread {
    pub p50_s: Option<f64>,
    pub p90_s: Option<f64>,
    pub count: usize,
}

impl Spread {
    fn of(mut ms: Vec<i64>) -> Spread {
        ms.sort_unstable();
        let rank = |p: f64| -> Option<f64> {
            if ms.is_empty() {
                return None;
            }
            let i = ((p * ms.len() as f64).ceil() as usize).clamp(1, ms.len()) - 1;
            Some(ms[i] as f64 / 1000.0)
        };
        Spread {
            p50_s: rank(0.5),
            p90_s: rank(0.9),
            count: ms.len(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Csat {
    /// Mean score (1–5) of the answers.
    pub average: Option<f64>,
    pub responses: usize,
    /// Surveys sent (auto-solved conversations get none).
    pub sent: usize,
    pub response_rate: Option<f64>,
}

/// One day of the period (in the report's time zone).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Day {
    pub day: String,
    pub conversations: usize,
    pub deflected: usize,
    pub escalated: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Summary {
    pub conversations: usize,
    pub deflected: usize,
    pub deflection_rate: Option<f64>,
    pub escalated: usize,
    pub escalation_rate: Option<f64>,
    pub escalations_by_reason: BTreeMap<String, usize>,
    pub first_response_time: Spread,
    pub resolution_time: Spread,
    pub handle_time: Spread,
    /// Deflected conversations × the median handle time of the human ones.
    pub time_saved_by_bot_s: Option<f64>,
    pub csat: Csat,
    pub cost_per_contact: Option<f64>,
    pub sla_breaches: usize,
    pub by_day: Vec<Day>,
}

/// A flow's funnel.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlowFunnel {
    pub flow: String,
    pub entered: usize,
    /// Solved without a human.
    pub completed: usize,
    pub escalated: usize,
    /// Neither: the contact went silent (or is still talking to the bot).
    pub abandoned: usize,
    pub steps: Vec<StepFunnel>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepFunnel {
    pub step: String,
    pub entered: usize,
    /// Abandoned conversations whose last step in this flow was this one.
    pub abandoned: usize,
}

/// What an event keeps of its data once its conversation is erased or anonymised
/// (SPEC §11): only what [`summarize`] and [`funnels`] read, none of it personal (an
/// escalation's reason and team, a status, a survey score). Flow positions, times and
/// actors are columns of the event, not data, and stay.
pub fn kept(kind: EventKind, data: &serde_json::Value) -> serde_json::Value {
    let keys: &[&str] = match kind {
        EventKind::Escalated => &["reason", "team"],
        EventKind::Transferred => &["to_team", "team"],
        EventKind::StatusChanged => &["from", "to"],
        EventKind::CsatAnswered => &["score"],
        _ => &[],
    };
    let mut out = serde_json::Map::new();
    for k in keys {
        if let Some(v @ (serde_json::Value::String(_) | serde_json::Value::Number(_))) = data.get(k)
        {
            out.insert((*k).to_owned(), v.clone());
        }
    }
    serde_json::Value::Object(out)
}

/// What the log says of one conversation: its events folded in order
/// ([`Story::apply`]). The store keeps one per conversation, folded in the same
/// transaction as its events (`conversation_facts`), so a report reads one row per
/// conversation instead of every event.
#[derive(Debug, Default, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Story {
    pub started: Option<i64>,
    /// When and why it first went to a human.
    pub escalated: Option<(i64, String)>,
    pub team: Option<String>,
    /// An agent's first message.
    pub agent_reply: Option<i64>,
    /// First solved or closed, and whether by the inactivity rules (auto-solved).
    pub solved: Option<(i64, bool)>,
    /// An agent wrote or moved the ticket.
    pub human: bool,
    pub csat_sent: bool,
    pub csat: Option<i64>,
    /// Flows run, in order, with their steps entered (in order, first time each).
    pub flows: Vec<(String, Vec<String>)>,
}

/// Whether an event of this kind can change a [`Story`] (the others need not be read).
pub fn tells(kind: EventKind) -> bool {
    matches!(
        kind,
        EventKind::ConversationStarted
            | EventKind::Escalated
            | EventKind::Transferred
            | EventKind::MessageQueued
            | EventKind::MessageSent
            | EventKind::StatusChanged
            | EventKind::CsatSent
            | EventKind::CsatAnswered
            | EventKind::StepEntered
    )
}

impl Story {
    /// The next event of the conversation, in log order.
    pub fn apply(&mut self, e: &Event) {
        let s = self;
        match e.kind {
            EventKind::ConversationStarted => {
                s.started.get_or_insert(e.at.0);
            }
            EventKind::Escalated if s.escalated.is_none() => {
                let reason = e.data["reason"].as_str().unwrap_or("requested").to_owned();
                s.escalated = Some((e.at.0, reason));
                s.team = e.data["team"].as_str().map(str::to_owned);
            }
            EventKind::Transferred => {
                // The desk writes `to_team`; `team` is read too.
                if let Some(t) = e.data["to_team"].as_str().or(e.data["team"].as_str()) {
                    s.team = Some(t.to_owned());
                }
            }
            EventKind::MessageQueued | EventKind::MessageSent
                if matches!(e.actor, Actor::Agent(_)) =>
            {
                s.human = true;
                s.agent_reply.get_or_insert(e.at.0);
            }
            EventKind::StatusChanged if s.solved.is_none() => {
                if e.data["to"] == "solved" || e.data["to"] == "closed" {
                    // Solved by the inactivity rules (System) is "auto-solved".
                    s.solved = Some((e.at.0, e.actor == Actor::System));
                }
                if let Actor::Agent(_) = e.actor {
                    s.human = true;
                }
            }
            EventKind::CsatSent => s.csat_sent = true,
            EventKind::CsatAnswered => s.csat = e.data["score"].as_i64(),
            EventKind::StepEntered => {
                if let Some(p) = &e.flow {
                    if s.flows.last().is_none_or(|(f, _)| *f != p.flow) {
                        s.flows.push((p.flow.clone(), Vec::new()));
                    }
                    if let Some((_, steps)) = s.flows.last_mut()
                        && !steps.contains(&p.step)
                    {
                        steps.push(p.step.clone());
                    }
                }
            }
            _ => {}
        }
    }

    fn deflected(&self) -> bool {
        self.escalated.is_none() && !self.human && self.solved.is_some()
    }
    fn ran(&self, flow: &str) -> bool {
        self.flows.iter().any(|(f, _)| f == flow)
    }
}

/// Each conversation's story, from its events in log order.
pub fn stories(events: &[(i64, &Event)]) -> BTreeMap<i64, Story> {
    let mut out: BTreeMap<i64, Story> = BTreeMap::new();
    for (conv, e) in events {
        out.entry(*conv).or_default().apply(e);
    }
    out
}

/// The period's figures. `events` are the log's events (with their conversation), in
/// order; `day_of` names the day of an instant in the report's time zone.
pub fn summarize(
    events: &[(i64, &Event)],
    scope: &Scope<'_>,
    costs: Option<Costs>,
    sla: &Sla,
    day_of: &dyn Fn(i64) -> String,
) -> Summary {
    let all = stories(events);
    summarize_stories(all.values(), scope, costs, sla, day_of)
}

/// [`summarize`] over the conversations' stories.
pub fn summarize_stories<'a>(
    stories: impl Iterator<Item = &'a Story>,
    scope: &Scope<'_>,
    costs: Option<Costs>,
    sla: &Sla,
    day_of: &dyn Fn(i64) -> String,
) -> Summary {
    let mine: Vec<&Story> = stories
        .filter(|s| s.started.is_some_and(|t| t >= scope.from && t < scope.to))
        .filter(|s| scope.flow.is_none_or(|f| s.ran(f)))
        .collect();
    let n = mine.len();
    let rate = |k: usize| (n > 0).then(|| k as f64 / n as f64);
    let deflected = mine.iter().filter(|s| s.deflected()).count();
    let escalated: Vec<&&Story> = mine.iter().filter(|s| s.escalated.is_some()).collect();
    let by_reason = by_reason(&escalated);
    let first_response: Vec<i64> = escalated
        .iter()
        .filter_map(|s| Some(s.agent_reply? - s.escalated.as_ref()?.0))
        .map(|d| d.max(0))
        .collect();
    let resolution: Vec<i64> = mine
        .iter()
        .filter_map(|s| Some(s.solved?.0 - s.started?))
        .collect();
    let handle: Vec<i64> = escalated
        .iter()
        .filter_map(|s| Some(s.solved?.0 - s.escalated.as_ref()?.0))
        .map(|d| d.max(0))
        .collect();
    let handle_total_ms: i64 = handle.iter().sum();
    let handle_spread = Spread::of(handle);
    let csat = csat(&mine);
    let sla_breaches = sla_breaches(&escalated, sla, scope.now);
    let cost_per_contact = costs.filter(|_| n > 0).map(|c| {
        let total =
            c.per_conversation * n as f64 + c.agent_hour * (handle_total_ms as f64 / 3_600_000.0);
        total / n as f64
    });
    Summary {
        conversations: n,
        deflected,
        deflection_rate: rate(deflected),
        escalated: escalated.len(),
        escalation_rate: rate(escalated.len()),
        escalations_by_reason: by_reason,
        first_response_time: Spread::of(first_response),
        resolution_time: Spread::of(resolution),
        time_saved_by_bot_s: handle_spread.p50_s.map(|m| m * deflected as f64),
        handle_time: handle_spread,
        csat,
        cost_per_contact,
        sla_breaches,
        by_day: by_day(&mine, day_of),
    }
}

/// How many escalations there were for each reason.
fn by_reason(escalated: &[&&Story]) -> BTreeMap<String, usize> {
    let mut by_reason = BTreeMap::new();
    for s in escalated {
        if let Some((_, r)) = &s.escalated {
            *by_reason.entry(r.clone()).or_insert(0) += 1;
        }
    }
    by_reason
}

/// The satisfaction survey's figures; auto-solved conversations are left out.
fn csat(mine: &[&Story]) -> Csat {
    let sent = mine
        .iter()
        .filter(|s| s.csat_sent && !s.solved.is_some_and(|(_, auto)| auto))
        .count();
    let scores: Vec<i64> = mine
        .iter()
        .filter(|s| !s.solved.is_some_and(|(_, auto)| auto))
        .filter_map(|s| s.csat)
        .collect();
    Csat {
        average: (!scores.is_empty())
            .then(|| scores.iter().sum::<i64>() as f64 / scores.len() as f64),
        responses: scores.len(),
        sent,
        response_rate: (sent > 0).then(|| scores.len() as f64 / sent as f64),
    }
}

/// The escalations whose first agent reply came (or, unanswered, would come at `now`)
/// after their team's SLA target.
fn sla_breaches(escalated: &[&&Story], sla: &Sla, now: i64) -> usize {
    escalated
        .iter()
        .filter(|s| {
            let Some(target) = sla.target(s.team.as_deref()) else {
                return false;
            };
            let Some((at, _)) = s.escalated else {
                return false;
            };
            let answered = s.agent_reply.unwrap_or(now);
            answered - at > target.0
        })
        .count()
}

/// The conversations, deflections and escalations of each day, in day order.
fn by_day(mine: &[&Story], day_of: &dyn Fn(i64) -> String) -> Vec<Day> {
    // Counted per quarter hour, then named: naming a day in a time zone is slow next
    // to the rest, and every zone's offset is a whole number of quarter hours, so a
    // quarter hour is always in one day.
    let mut quarters: HashMap<i64, (i64, usize, usize, usize)> = HashMap::new();
    for s in mine {
        let Some(t) = s.started else { continue };
        let q = quarters
            .entry(t.div_euclid(900_000))
            .or_insert((t, 0, 0, 0));
        q.1 += 1;
        q.2 += usize::from(s.deflected());
        q.3 += usize::from(s.escalated.is_some());
    }
    let mut days: BTreeMap<String, Day> = BTreeMap::new();
    for (t, conversations, deflected, escalated) in quarters.into_values() {
        let day = day_of(t);
        let d = days.entry(day.clone()).or_insert(Day {
            day,
            conversations: 0,
            deflected: 0,
            escalated: 0,
        });
        d.conversations += conversations;
        d.deflected += deflected;
        d.escalated += escalated;
    }
    days.into_values().collect()
}

/// Per flow and step: entered, completed, escalated, abandoned (SPEC §10's funnel).
pub fn funnels(events: &[(i64, &Event)], scope: &Scope<'_>) -> Vec<FlowFunnel> {
    funnels_stories(stories(events).values(), scope)
}

/// [`funnels`] over the conversations' stories.
pub fn funnels_stories<'a>(
    stories: impl Iterator<Item = &'a Story>,
    scope: &Scope<'_>,
) -> Vec<FlowFunnel> {
    let mut out: BTreeMap<String, FlowFunnel> = BTreeMap::new();
    for s in stories.filter(|s| s.started.is_some_and(|t| t >= scope.from && t < scope.to)) {
        for (flow, steps) in &s.flows {
            if scope.flow.is_some_and(|f| f != flow) {
                continue;
            }
            let f = out.entry(flow.clone()).or_insert_with(|| FlowFunnel {
                flow: flow.clone(),
                entered: 0,
                completed: 0,
                escalated: 0,
                abandoned: 0,
                steps: Vec::new(),
            });
            f.entered += 1;
            let abandoned = !s.deflected() && s.escalated.is_none() && !s.human;
            if s.deflected() {
                f.completed += 1;
            } else if s.escalated.is_some() {
                f.escalated += 1;
            } else if abandoned {
                f.abandoned += 1;
            }
            for (i, step) in steps.iter().enumerate() {
                let at = match f.steps.iter().position(|x| x.step == *step) {
                    Some(at) => at,
                    None => {
                        f.steps.push(StepFunnel {
                            step: step.clone(),
                            entered: 0,
                            abandoned: 0,
                        });
                        f.steps.len() - 1
                    }
                };
                f.steps[at].entered += 1;
                if abandoned && i + 1 == steps.len() {
                    f.steps[at].abandoned += 1;
                }
            }
        }
    }
    out.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::FlowPosition;
    use crate::id::{AgentId, ContactId};
    use crate::time::Timestamp;
    use serde_json::json;

    const MIN: i64 = 60_000;

    fn ev(kind: EventKind, actor: Actor, at_min: i64, data: serde_json::Value) -> Event {
        Event::new(kind, actor, Timestamp(at_min * MIN), data)
    }

    fn step(at_min: i64, flow: &str, step: &str) -> Event {
        let mut e = ev(EventKind::StepEntered, Actor::Bot, at_min, json!({}));
        e.flow = Some(FlowPosition {
            flow: flow.into(),
            version: 1,
            step: step.into(),
        });
        e
    }

    /// The worked example of docs/kpis.md: four conversations on one day.
    fn example() -> Vec<(i64, Event)> {
        let c = Actor::Contact(ContactId(1));
        let ann = Actor::Agent(AgentId(7));
        let started = |at| ev(EventKind::ConversationStarted, c, at, json!({}));
        let solved = |actor, at| {
            ev(
                EventKind::StatusChanged,
                actor,
                at,
                json!({ "from": "bot", "to": "solved" }),
            )
        };
        vec![
            // 1: the bot answers (order status) and resolves: deflected, in 2 min.
            (1, started(0)),
            (1, step(0, "order", "ask")),
            (1, step(1, "order", "show")),
            (1, solved(Actor::Bot, 2)),
            // 2: asks for a human at 10; Ann answers at 16, solves at 40; rated 4.
            (2, started(5)),
            (2, step(5, "order", "ask")),
            (
                2,
                ev(
                    EventKind::Escalated,
                    Actor::Bot,
                    10,
                    json!({ "reason": "keyword", "team": "support" }),
                ),
            ),
            (2, ev(EventKind::MessageQueued, ann, 16, json!({}))),
            (2, solved(ann, 40)),
            (2, ev(EventKind::CsatSent, Actor::System, 40, json!({}))),
            (2, ev(EventKind::CsatAnswered, c, 41, json!({ "score": 4 }))),
            // 3: escalated after hours at 20, never answered (an SLA breach at 30 min).
            (3, started(20)),
            (3, step(20, "order", "ask")),
            (
                3,
                ev(
                    EventKind::Escalated,
                    Actor::Bot,
                    20,
                    json!({ "reason": "after_hours", "team": "support" }),
                ),
            ),
            // 4: goes silent in the menu: abandoned at "ask".
            (4, started(30)),
            (4, step(30, "order", "ask")),
            // 5: started before the period: not counted.
            (5, started(-60)),
        ]
    }

    #[test]
    fn the_worked_example_of_docs_kpis_md() {
        let events = example();
        let refs: Vec<(i64, &Event)> = events.iter().map(|(c, e)| (*c, e)).collect();
        let scope = Scope {
            from: 0,
            to: 24 * 60 * MIN,
            flow: None,
            now: 120 * MIN,
        };
        let sla = Sla {
            first_response: Some(Duration::minutes(30)),
            teams: HashMap::new(),
        };
        let costs = Costs {
            per_conversation: 0.10,
            agent_hour: 30.0,
        };
        let s = summarize(&refs, &scope, Some(costs), &sla, &|_| "2026-11-23".into());
        assert_eq!(s.conversations, 4);
        assert_eq!((s.deflected, s.deflection_rate), (1, Some(0.25)));
        assert_eq!((s.escalated, s.escalation_rate), (2, Some(0.5)));
        assert_eq!(s.escalations_by_reason["keyword"], 1);
        assert_eq!(s.escalations_by_reason["after_hours"], 1);
        // First response: only conversation 2 was answered, 6 min after escalating.
        assert_eq!(s.first_response_time.p50_s, Some(360.0));
        // Resolution: 2 min (1) and 35 min (2).
        assert_eq!(s.resolution_time.count, 2);
        assert_eq!(s.resolution_time.p50_s, Some(120.0));
        assert_eq!(s.resolution_time.p90_s, Some(2100.0));
        // Handle time 30 min (2); the bot saved one such conversation.
        assert_eq!(s.handle_time.p50_s, Some(1800.0));
        assert_eq!(s.time_saved_by_bot_s, Some(1800.0));
        assert_eq!(s.csat.average, Some(4.0));
        assert_eq!((s.csat.responses, s.csat.sent), (1, 1));
        assert_eq!(s.csat.response_rate, Some(1.0));
        // (4 × 0.10 + 0.5 h × 30) / 4 = 3.85
        assert!((s.cost_per_contact.unwrap() - 3.85).abs() < 1e-9);
        // Conversation 3: unanswered for 100 min at report time, past 30 min.
        assert_eq!(s.sla_breaches, 1);
        assert_eq!(
            s.by_day,
            [Day {
                day: "2026-11-23".into(),
                conversations: 4,
                deflected: 1,
                escalated: 2
            }]
        );
        let f = funnels(&refs, &scope);
        assert_eq!(f.len(), 1);
        let order = &f[0];
        assert_eq!(
            (
                order.entered,
                order.completed,
                order.escalated,
                order.abandoned
            ),
            (4, 1, 2, 1)
        );
        let ask = order.steps.iter().find(|x| x.step == "ask").unwrap();
        assert_eq!((ask.entered, ask.abandoned), (4, 1));
        let show = order.steps.iter().find(|x| x.step == "show").unwrap();
        assert_eq!((show.entered, show.abandoned), (1, 0));
    }

    #[test]
    fn what_erasure_keeps_of_the_events_gives_the_same_figures() {
        let mut events = example();
        let refs: Vec<(i64, &Event)> = events.iter().map(|(c, e)| (*c, e)).collect();
        let scope = Scope {
            from: 0,
            to: 24 * 60 * MIN,
            flow: None,
            now: 120 * MIN,
        };
        let sla = Sla {
            first_response: Some(Duration::minutes(30)),
            teams: HashMap::new(),
        };
        let day = |_: i64| "2026-11-23".to_string();
        let before = serde_json::to_value(summarize(&refs, &scope, None, &sla, &day)).unwrap();
        let funnels_before = serde_json::to_value(funnels(&refs, &scope)).unwrap();
        // Personal data in every event, as messages and variables would put it there.
        for (_, e) in &mut events {
            e.data["text"] = json!("my card is 4242 4242 4242 4242, Marie Curie");
            e.data = kept(e.kind, &e.data);
            assert!(!e.data.to_string().contains("Marie"), "{}", e.data);
        }
        let refs: Vec<(i64, &Event)> = events.iter().map(|(c, e)| (*c, e)).collect();
        let after = serde_json::to_value(summarize(&refs, &scope, None, &sla, &day)).unwrap();
        assert_eq!(before, after);
        assert_eq!(
            funnels_before,
            serde_json::to_value(funnels(&refs, &scope)).unwrap()
        );
        // Only strings and numbers are kept: no object can smuggle text through.
        let e = kept(
            EventKind::Escalated,
            &json!({ "reason": { "text": "x" }, "team": "vip" }),
        );
        assert_eq!(e, json!({ "team": "vip" }));
    }

    #[test]
    fn an_empty_period_has_no_rates_and_per_team_targets_win() {
        let s = summarize(
            &[],
            &Scope::default(),
            Some(Costs::default()),
            &Sla::default(),
            &|_| String::new(),
        );
        assert_eq!(s.conversations, 0);
        assert_eq!(s.deflection_rate, None);
        assert_eq!(s.cost_per_contact, None);
        assert_eq!(s.first_response_time.p50_s, None);
        let mut sla = Sla {
            first_response: Some(Duration::minutes(30)),
            teams: HashMap::new(),
        };
        sla.teams.insert("vip".into(), Duration::minutes(5));
        assert_eq!(sla.target(Some("vip")), Some(Duration::minutes(5)));
        assert_eq!(sla.target(Some("support")), Some(Duration::minutes(30)));
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let s = Spread::of((1..=10).map(|i| i * 1000).collect());
        assert_eq!((s.p50_s, s.p90_s, s.count), (Some(5.0), Some(9.0), 10));
        let one = Spread::of(vec![4000]);
        assert_eq!((one.p50_s, one.p90_s), (Some(4.0), Some(4.0)));
    }
}

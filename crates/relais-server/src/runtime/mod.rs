//! The runtime: everything that moves. The inbound [`pipeline`], durable [`timers`]
//! and the [`outbox`] dispatcher share one [`Runtime`] value.

pub mod desk;
pub mod follow;
pub mod http;
pub mod lane;
pub mod live;
pub mod media;
pub mod notify;
pub mod outbox;
pub mod pipeline;
pub mod reach;
pub mod reload;
pub mod retention;
pub mod rollup;
pub mod timers;
pub mod tunable;
pub mod typing;

use crate::channel::rest::RestAdapter;
use crate::channel::{ChannelAdapter, LiveChannel};
use crate::clock::Clock;
use crate::metrics::Metrics;
use relais_core::id::ChannelId;
use relais_core::{ConversationHandler, Duration, Timestamp};
use relais_store::{Channel, Store};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use tokio::sync::Notify;
use tunable::page_settings;

/// Tunables of the runtime, from the validated settings.
#[derive(Debug, Clone)]
pub struct RuntimeSettings {
    pub timer_window: Duration,
    pub outbox_max_attempts: u32,
    pub outbox_backoff_base: Duration,
    pub outbox_backoff_max: Duration,
    pub outbox_send_timeout: Duration,
    pub outbox_concurrency: usize,
    /// Names this node in outbox leases.
    pub node: String,
    /// Which private and loopback addresses flow `http` steps and webhooks may reach.
    pub http_reach: http::Reach,
    /// `[inactivity]`, `[handoff]`, `[sla]` and `[costs]` as relais.toml and the
    /// environment give them: the Settings page's values are laid over it
    /// ([`Runtime::tunable`]).
    pub tunable_base: toml::Table,
    /// The roots outbound HTTPS trusts (`[http] ca_file`).
    pub http_tls: crate::tls::ClientTls,
    /// `[http] ca_file`'s certificates, for SMTP (lettre builds its own TLS settings).
    pub http_ca_pem: Option<Vec<u8>>,
    /// `[server] public_url`: providers' webhook addresses are built from it.
    pub public_url: Option<String>,
    /// `[privacy] mask`: masked in what customers and agents write, before it is stored.
    pub mask: Vec<relais_core::privacy::Kind>,
    /// `[retention]`, run by [`retention`].
    pub retention: Option<crate::config::Retention>,
}

/// One channel's send window: how many sends the current second has had. Times are
/// the runtime clock's (a manual clock in tests).
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    window: Timestamp,
    sent: f64,
    held_until: Timestamp,
}

impl Pace {
    pub fn new(now: Timestamp) -> Pace {
        Pace {
            window: now,
            sent: 0.0,
            held_until: now,
        }
    }

    /// Takes a send slot at `now` (`None`), or says when to ask again.
    pub fn take(&mut self, now: Timestamp, rate: f64) -> Option<Timestamp> {
        if now < self.held_until {
            return Some(self.held_until);
        }
        // One second, or longer for less than one message per second.
        let length = Duration(((1000.0 / rate).max(1000.0)) as i64);
        if now >= self.window.plus(length) {
            self.window = now;
            self.sent = 0.0;
        }
        if self.sent < rate.max(1.0) {
            self.sent += 1.0;
            return None;
        }
        Some(self.window.plus(length))
    }
}

/// How a background loop (outbox, media) waits once it has claimed all it could: until
/// `next` is due, it is woken, a poll interval passes (work from other nodes) or the
/// server stops. `true` when it stops.
pub(crate) async fn wait_for_work(
    rt: &Runtime,
    next: Option<Timestamp>,
    wake: &Notify,
    poll: std::time::Duration,
    stop: &mut tokio::sync::watch::Receiver<bool>,
) -> bool {
    let now = rt.clock.now();
    let sleep = match next.filter(|t| *t > now) {
        Some(t) => rt.clock.sleep_until(t),
        None => Box::pin(std::future::pending()),
    };
    tokio::select! {
        () = sleep => {}
        () = wake.notified() => {}
        () = tokio::time::sleep(poll) => {}
        _ = stop.changed() => {}
    }
    *stop.borrow()
}

/// An agent typing to the contact at `address` on `channel`.
#[derive(Debug, Clone)]
pub struct Typing {
    pub channel: ChannelId,
    pub address: String,
}

pub struct Runtime {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub handler: Arc<dyn ConversationHandler>,
    pub metrics: Arc<Metrics>,
    pub lanes: lane::Lanes,
    pub timers: timers::TimerWheel,
    pub outbox_wake: Notify,
    /// Wakes the media loop when a message with an attachment was recorded.
    pub media_wake: Notify,
    pub settings: RuntimeSettings,
    /// The lifecycle, SLA and costs in force: relais.toml's, with the Settings page's
    /// values laid over them (`crate::tunable`; the store has its own copy of the
    /// lifecycle).
    tunable: RwLock<Arc<crate::tunable::Tunable>>,
    /// The last workspace change mark this node saw or wrote (`follow`).
    followed: std::sync::Mutex<Option<String>>,
    channels: RwLock<HashMap<ChannelId, Arc<LiveChannel>>>,
    pub providers: crate::channel::Providers,
    /// Web chat visitors with a page open on this node.
    pub visitors: Arc<crate::channel::webchat::Presence>,
    /// Agents typing, for the web chat pages open on this node.
    pub typing: tokio::sync::broadcast::Sender<Typing>,
    rest: RestAdapter,
    pub http: http::HttpRunner,
    /// The flow engine, when the handler is one (reload and channel metadata go to it).
    pub flows: Option<Arc<relais_flow::handler::FlowHandler>>,
    /// The workspace folder, for reloads.
    pub home: Option<reload::Home>,
    /// Ticks when events were committed here; live streams then read the log.
    pub feed: tokio::sync::watch::Sender<u64>,
    /// Turns true when shutdown begins: long-lived streams end so requests can drain.
    pub stopping: tokio::sync::watch::Sender<bool>,
    reloading: tokio::sync::Mutex<()>,
    /// Per channel, its send window (its `rate`, a provider's `Retry-After`).
    channel_pace: std::sync::Mutex<HashMap<ChannelId, Pace>>,
    /// Per webhook, when it may be called next (its receiver's rate, `Retry-After`).
    webhook_pace: std::sync::Mutex<HashMap<i64, relais_core::Timestamp>>,
}

impl Runtime {
    pub async fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        handler: Arc<dyn ConversationHandler>,
        flows: Option<Arc<relais_flow::handler::FlowHandler>>,
        home: Option<reload::Home>,
        settings: RuntimeSettings,
    ) -> Result<Arc<Runtime>, relais_store::Error> {
        let visitors = crate::channel::webchat::Presence::new(clock.clone());
        let providers = crate::channel::Providers::new(
            &settings.http_tls,
            settings.public_url.clone(),
            store.clone(),
            visitors.clone(),
            settings.http_ca_pem.clone(),
        );
        let tunable = Arc::new(page_settings(store.as_ref(), &settings.tunable_base).await?);
        store.configure(tunable.lifecycle.clone());
        let rt = Arc::new(Runtime {
            tunable: RwLock::new(tunable),
            followed: std::sync::Mutex::new(None),
            store,
            clock,
            handler,
            metrics: Arc::new(Metrics::default()),
            lanes: lane::Lanes::default(),
            timers: timers::TimerWheel::default(),
            outbox_wake: Notify::new(),
            media_wake: Notify::new(),
            webhook_pace: std::sync::Mutex::default(),
            channel_pace: std::sync::Mutex::default(),
            rest: RestAdapter::new(settings.outbox_send_timeout, &settings.http_tls),
            http: http::HttpRunner::with_tls(settings.http_reach.clone(), &settings.http_tls),
            flows,
            home,
            feed: tokio::sync::watch::Sender::new(0),
            stopping: tokio::sync::watch::Sender::new(false),
            reloading: tokio::sync::Mutex::new(()),
            providers,
            visitors,
            typing: tokio::sync::broadcast::Sender::new(256),
            settings,
            channels: RwLock::new(HashMap::new()),
        });
        rt.reload_channels().await?;
        Ok(rt)
    }

    /// Refreshes the in-memory channel table from the store.
    pub async fn reload_channels(&self) -> Result<(), relais_store::Error> {
        let list = self.store.channels().await?;
        let loaded = self.flows.as_ref().map(|f| f.loaded());
        let mut map = self.channels.write().unwrap_or_else(|p| p.into_inner());
        map.clear();
        for row in list {
            // A channel's secrets: its row names them (from channels.yaml or the API),
            // `[secrets]` holds them.
            let mut secrets = HashMap::new();
            if let (Some(l), Some(names)) = (&loaded, row.secret_names.as_object()) {
                for (role, name) in names {
                    let value = name
                        .as_str()
                        .and_then(|n| l.secrets.get(&n.to_lowercase()))
                        .and_then(|v| v.as_str());
                    if let Some(v) = value {
                        secrets.insert(role.clone(), v.to_owned());
                    }
                }
            }
            map.insert(row.id.clone(), Arc::new(LiveChannel::new(row, secrets)));
        }
        if let Some(f) = &self.flows {
            let mut metas = std::collections::HashMap::new();
            let defs = f.loaded().ws.channels.clone();
            for c in map.values().map(|c| &c.row) {
                let default_flow = defs
                    .iter()
                    .find(|d| d.id == c.id.as_str())
                    .and_then(|d| d.default_flow.clone())
                    .or_else(|| c.default_flow.clone());
                metas.insert(
                    c.id.as_str().to_owned(),
                    relais_flow::handler::ChannelMeta {
                        kind: c.kind.clone(),
                        default_flow,
                    },
                );
            }
            f.set_channels(metas);
        }
        Ok(())
    }

    pub fn channel(&self, id: &ChannelId) -> Option<Channel> {
        self.live_channel(id).map(|c| c.row.clone())
    }

    /// The channel with its secrets, for the adapters and inbound webhooks.
    pub fn live_channel(&self, id: &ChannelId) -> Option<Arc<LiveChannel>> {
        self.channels
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
    }

    /// Waits until this channel may send: at most `rate` sends in any one-second
    /// window (a window's sends go at once; the next window waits), and nothing while
    /// a provider's `Retry-After` holds. A wait longer than two seconds is not spent
    /// here, holding a delivery slot: it is returned, and the message is deferred.
    pub async fn pace(&self, channel: &LiveChannel) -> Option<Timestamp> {
        let rate = channel.rate()?;
        loop {
            let now = self.clock.now();
            let wait = {
                let mut pace = self.channel_pace.lock().unwrap_or_else(|p| p.into_inner());
                pace.entry(channel.row.id.clone())
                    .or_insert_with(|| Pace::new(now))
                    .take(now, rate)
            };
            match wait {
                None => return None,
                Some(until) if until.0 - now.0 > 2_000 => return Some(until),
                Some(until) => self.clock.sleep_until(until).await,
            }
        }
    }

    /// A provider asked the channel to wait (429 `Retry-After`): no send before then.
    pub fn hold_channel(&self, channel: &ChannelId, until: Timestamp) {
        let now = self.clock.now();
        let until = until.min(now.plus(Duration::hours(1)));
        let mut pace = self.channel_pace.lock().unwrap_or_else(|p| p.into_inner());
        let p = pace
            .entry(channel.clone())
            .or_insert_with(|| Pace::new(now));
        p.held_until = p.held_until.max(until);
    }

    pub fn telegram(&self) -> &crate::channel::telegram::Telegram {
        self.providers.telegram()
    }

    pub fn adapter(&self, kind: &str) -> Option<&dyn ChannelAdapter> {
        match kind {
            "rest" => Some(&self.rest),
            other => self.providers.adapter(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Pace;
    use relais_core::{Duration, Timestamp};

    #[test]
    fn pacing_allows_rate_sends_per_second_and_honours_a_hold() {
        let t0 = Timestamp(1_000_000);
        let s = |n: i64| t0.plus(Duration::seconds(n));
        let mut p = Pace::new(t0);
        assert!((0..3).all(|_| p.take(t0, 3.0).is_none()));
        assert_eq!(p.take(t0, 3.0), Some(s(1)), "the fourth waits");
        assert_eq!(p.take(s(1), 3.0), None, "a new second");
        p.held_until = s(31);
        assert_eq!(p.take(s(1), 3.0), Some(s(31)));
        // Half a message per second: one every two seconds.
        let mut slow = Pace::new(t0);
        assert_eq!(slow.take(t0, 0.5), None);
        assert_eq!(slow.take(s(1), 0.5), Some(s(2)));
        assert_eq!(slow.take(s(2), 0.5), None);
    }
}

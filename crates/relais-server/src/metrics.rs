//! Prometheus metrics, kept in atomics and rendered as text on `/metrics`. Labels
//! never carry personal data (no addresses, no message text).

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds of the pipeline latency histogram, in microseconds.
const BUCKETS_US: [u64; 14] = [
    250, 500, 1_000, 2_000, 3_000, 5_000, 7_500, 10_000, 15_000, 25_000, 50_000, 100_000, 250_000,
    1_000_000,
];

#[derive(Default)]
pub struct Metrics {
    pub inbound: AtomicU64,
    pub inbound_duplicates: AtomicU64,
    pub inbound_rejected: AtomicU64,
    pub pipeline_errors: AtomicU64,
    pub outbound_in_band: AtomicU64,
    pub outbound_sent: AtomicU64,
    pub outbound_retries: AtomicU64,
    pub outbound_failed: AtomicU64,
    pub timers_fired: AtomicU64,
    latency_buckets: [AtomicU64; BUCKETS_US.len()],
    latency_count: AtomicU64,
    latency_sum_us: AtomicU64,
}

impl Metrics {
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Records one inbound message's time from request to durable commit.
    pub fn observe_pipeline(&self, elapsed: std::time::Duration) {
        let us = elapsed.as_micros().min(u128::from(u64::MAX)) as u64;
        if let Some(i) = BUCKETS_US.iter().position(|b| us <= *b) {
            self.latency_buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_us.fetch_add(us, Ordering::Relaxed);
    }

    pub fn render(&self) -> String {
        let mut out = String::with_capacity(2048);
        let counters: [(&str, &str, &AtomicU64); 9] = [
            (
                "relais_inbound_messages_total",
                "Inbound messages stored.",
                &self.inbound,
            ),
            (
                "relais_inbound_duplicates_total",
                "Inbound deliveries recognised as duplicates.",
                &self.inbound_duplicates,
            ),
            (
                "relais_inbound_rejected_total",
                "Inbound requests refused (bad input or credentials).",
                &self.inbound_rejected,
            ),
            (
                "relais_pipeline_errors_total",
                "Inbound messages that failed to commit.",
                &self.pipeline_errors,
            ),
            (
                "relais_outbound_in_band_total",
                "Bot replies returned in the REST response.",
                &self.outbound_in_band,
            ),
            (
                "relais_outbound_sent_total",
                "Outbound messages accepted by a provider.",
                &self.outbound_sent,
            ),
            (
                "relais_outbound_retries_total",
                "Outbound attempts that will be retried.",
                &self.outbound_retries,
            ),
            (
                "relais_outbound_failed_total",
                "Outbound messages that failed for good.",
                &self.outbound_failed,
            ),
            (
                "relais_timers_fired_total",
                "Durable timers fired.",
                &self.timers_fired,
            ),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                value.load(Ordering::Relaxed)
            );
        }
        let name = "relais_pipeline_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Inbound message to durable commit.\n# TYPE {name} histogram"
        );
        let mut cumulative = 0;
        for (i, b) in BUCKETS_US.iter().enumerate() {
            cumulative += self.latency_buckets[i].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "{name}_bucket{{le=\"{}\"}} {cumulative}",
                *b as f64 / 1e6
            );
        }
        let count = self.latency_count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(
            out,
            "{name}_sum {}",
            self.latency_sum_us.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "{name}_count {count}");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_a_cumulative_histogram() {
        let m = Metrics::default();
        Metrics::inc(&m.inbound);
        m.observe_pipeline(std::time::Duration::from_micros(400));
        m.observe_pipeline(std::time::Duration::from_millis(4));
        let text = m.render();
        assert!(text.contains("relais_inbound_messages_total 1\n"));
        assert!(text.contains("relais_pipeline_seconds_bucket{le=\"0.0005\"} 1\n"));
        assert!(text.contains("relais_pipeline_seconds_bucket{le=\"0.005\"} 2\n"));
        assert!(text.contains("relais_pipeline_seconds_count 2\n"));
    }
}

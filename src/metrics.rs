//! What a server counts of its own work, for `/metrics` in Prometheus' text
//! format: calls by tool and outcome, and how long calls waited for a slot
//! of their Space. Gauges (calls in flight, jobs, the store) are read where
//! they live when the page is made; this holds only what must be counted as
//! it happens. Plain atomics and one small map: no exporter crate needed.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Outcome {
    Ok,
    /// A result with `isError` (the Space failed, bad arguments, …).
    Error,
    Timeout,
    Cancelled,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Error => "error",
            Outcome::Timeout => "timeout",
            Outcome::Cancelled => "cancelled",
        }
    }
}

/// Upper bounds of the queue-wait buckets, in seconds.
const WAIT_BUCKETS: [f64; 8] = [0.005, 0.05, 0.25, 1.0, 5.0, 15.0, 60.0, 300.0];

#[derive(Default)]
pub(crate) struct Metrics {
    calls: Mutex<BTreeMap<(String, Outcome), u64>>,
    waits: [AtomicU64; WAIT_BUCKETS.len()],
    waits_count: AtomicU64,
    waits_micros: AtomicU64,
}

impl Metrics {
    pub(crate) fn call_ended(&self, tool: &str, outcome: Outcome) {
        let mut calls = crate::locks::lock(&self.calls);
        *calls.entry((tool.to_string(), outcome)).or_default() += 1;
    }

    pub(crate) fn waited(&self, wait: Duration) {
        let seconds = wait.as_secs_f64();
        for (bound, count) in WAIT_BUCKETS.iter().zip(&self.waits) {
            if seconds <= *bound {
                count.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.waits_count.fetch_add(1, Ordering::Relaxed);
        self.waits_micros
            .fetch_add(wait.as_micros() as u64, Ordering::Relaxed);
    }

    /// The counters, as Prometheus text.
    pub(crate) fn render(&self, out: &mut String) {
        header(
            out,
            "spaces_mcp_calls_total",
            "counter",
            "Tool calls that ended, by tool and outcome.",
        );
        let calls = crate::locks::lock(&self.calls);
        for ((tool, outcome), n) in calls.iter() {
            let _ = writeln!(
                out,
                "spaces_mcp_calls_total{{tool=\"{}\",outcome=\"{}\"}} {n}",
                escape(tool),
                outcome.label()
            );
        }
        drop(calls);
        header(
            out,
            "spaces_mcp_queue_wait_seconds",
            "histogram",
            "How long calls waited for a slot of their Space (space_concurrency, fleet-wide in a fleet).",
        );
        for (bound, count) in WAIT_BUCKETS.iter().zip(&self.waits) {
            let _ = writeln!(
                out,
                "spaces_mcp_queue_wait_seconds_bucket{{le=\"{bound}\"}} {}",
                count.load(Ordering::Relaxed)
            );
        }
        let count = self.waits_count.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "spaces_mcp_queue_wait_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            out,
            "spaces_mcp_queue_wait_seconds_sum {}",
            self.waits_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "spaces_mcp_queue_wait_seconds_count {count}");
    }
}

/// One metric's HELP and TYPE lines.
pub(crate) fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// A metric with no labels: its header and value.
pub(crate) fn single(
    out: &mut String,
    name: &str,
    kind: &str,
    help: &str,
    value: impl std::fmt::Display,
) {
    header(out, name, kind, help);
    let _ = writeln!(out, "{name} {value}");
}

/// A label value as the text format wants it.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let metrics = Metrics::default();
        metrics.call_ended("generate_image", Outcome::Ok);
        metrics.call_ended("generate_image", Outcome::Ok);
        metrics.call_ended("odd\"name", Outcome::Timeout);
        metrics.waited(Duration::from_millis(100));
        let mut out = String::new();
        metrics.render(&mut out);
        assert!(
            out.contains("spaces_mcp_calls_total{tool=\"generate_image\",outcome=\"ok\"} 2\n"),
            "{out}"
        );
        assert!(
            out.contains("spaces_mcp_calls_total{tool=\"odd\\\"name\",outcome=\"timeout\"} 1\n"),
            "{out}"
        );
        assert!(
            out.contains("spaces_mcp_queue_wait_seconds_bucket{le=\"0.05\"} 0\n"),
            "{out}"
        );
        assert!(
            out.contains("spaces_mcp_queue_wait_seconds_bucket{le=\"0.25\"} 1\n"),
            "{out}"
        );
        assert!(
            out.contains("spaces_mcp_queue_wait_seconds_count 1\n"),
            "{out}"
        );
        assert!(out.contains("# TYPE spaces_mcp_calls_total counter\n"));
    }
}

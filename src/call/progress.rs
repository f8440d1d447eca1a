//! Turning a call's stages into progress a person understands: "in queue:
//! position 3 of 7, about 12 s", "denoising: step 3 of 20", "downloading
//! result". Values only grow (MCP requires it), on a scale of 100, and a
//! silent stretch still gets a report every [`KEEP_ALIVE`] so that clients
//! which reset their timeout on progress keep waiting.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::gradio::{GpuRefusal, Stage};
use crate::result::text::{SPACE_TEXT_MAX, clean_text, strip_html};

/// Where reports go: progress so far, the total, and a message.
pub(crate) type ProgressSink = Arc<dyn Fn(f64, Option<f64>, String) + Send + Sync>;

/// Where the Space's own log lines go (`gr.Info`, `gr.Warning`): their level
/// as Gradio names it, and the line made safe to pass on.
pub(crate) type LogSink = Arc<dyn Fn(&str, String) + Send + Sync>;

/// A Space's log line as it is passed on: no markup, bounded.
pub(crate) fn log_line(message: &str) -> String {
    clean_text(&strip_html(message), SPACE_TEXT_MAX)
}

/// The longest silence between two reports while a call runs.
pub(crate) const KEEP_ALIVE: Duration = Duration::from_secs(10);

/// The scale of progress values.
const TOTAL: f64 = 100.0;

/// The reports of one call.
pub(crate) struct Reporter {
    sink: Option<ProgressSink>,
    state: Mutex<State>,
}

struct State {
    value: f64,
    message: String,
    sent: Instant,
    started: Instant,
    /// The Space's last log line, and when it came: it rides along on the
    /// reports after it for [`NOTE_HOLD`], so that coalescing (a client gets
    /// a few reports a second, the latest winning) cannot lose it.
    note: Option<(String, Instant)>,
}

/// How long a Space's log line stays in the progress messages after it.
const NOTE_HOLD: Duration = Duration::from_secs(2);

impl Reporter {
    pub(crate) fn new(sink: Option<ProgressSink>) -> Reporter {
        let now = Instant::now();
        Reporter {
            sink,
            state: Mutex::new(State {
                value: 0.0,
                message: String::new(),
                sent: now,
                started: now,
                note: None,
            }),
        }
    }

    /// Reports a stage of the call.
    pub(crate) fn stage(&self, stage: Stage) {
        let is_log = matches!(stage, Stage::Log { .. });
        let (value, message) = describe(stage);
        let message = {
            let mut state = self.lock();
            if is_log {
                state.note = Some((message.clone(), Instant::now()));
                message
            } else {
                match &state.note {
                    Some((note, at)) if at.elapsed() < NOTE_HOLD => format!("{message} ({note})"),
                    _ => message,
                }
            }
        };
        self.emit(value, message);
    }

    /// Repeats the last report, marked as still running, if nothing was said
    /// for [`KEEP_ALIVE`].
    pub(crate) fn keep_alive(&self) {
        let (value, message) = {
            let state = self.lock();
            if state.sent.elapsed() < KEEP_ALIVE {
                return;
            }
            let base = state
                .message
                .split(" (still running")
                .next()
                .unwrap_or("")
                .to_string();
            let base = if base.is_empty() {
                "working".to_string()
            } else {
                base
            };
            (
                state.value,
                format!(
                    "{base} (still running, {}s)",
                    state.started.elapsed().as_secs()
                ),
            )
        };
        self.emit(Some(value), message);
    }

    fn emit(&self, value: Option<f64>, message: String) {
        let Some(sink) = &self.sink else {
            return;
        };
        let value = {
            let mut state = self.lock();
            // Strictly growing, never reaching the total before the result.
            let wanted = value.unwrap_or(state.value);
            let value = wanted.max(state.value + 0.01).min(TOTAL - 0.01);
            state.value = value;
            state.message = message.clone();
            state.sent = Instant::now();
            value
        };
        sink((value * 100.0).round() / 100.0, Some(TOTAL), message);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        crate::locks::lock(&self.state)
    }
}

/// A stage's place on the scale (`None`: where we are) and its message.
fn describe(stage: Stage) -> (Option<f64>, String) {
    match stage {
        Stage::WaitingForSlot { position: 1 } => (
            Some(1.0),
            "waiting for a free slot on the Space: next in line".to_string(),
        ),
        Stage::WaitingForSlot { position } => (
            Some(1.0),
            format!("waiting for a free slot on the Space: number {position} in line"),
        ),
        Stage::Retrying {
            reason,
            wait,
            attempt,
        } => (
            Some(2.0),
            format!(
                "{reason}; trying again in {:.0}s (attempt {attempt})",
                wait.as_secs_f64().ceil()
            ),
        ),
        Stage::Waking { wait } => (
            Some(2.0),
            format!(
                "waiting for the Space to wake up (it is asleep, building or starting); checking again in {:.0}s",
                wait.as_secs_f64().ceil()
            ),
        ),
        Stage::GpuWait { refusal, wait } => (
            Some(2.0),
            match refusal {
                GpuRefusal::Busy => format!(
                    "no ZeroGPU was free; trying again in {}",
                    crate::result::text::clock(wait)
                ),
                GpuRefusal::Quota { .. } => format!(
                    "GPU quota refills in {}; waiting, then the call is sent again",
                    crate::result::text::clock(wait)
                ),
            },
        ),
        Stage::Queued { rank, size, eta } => {
            let place = match (rank, size) {
                (Some(rank), Some(size)) => {
                    format!("position {} of {}", rank + 1, size.max(rank + 1))
                }
                (Some(rank), None) => format!("position {}", rank + 1),
                _ => "waiting".to_string(),
            };
            (Some(5.0), format!("in queue: {place}{}", about(eta)))
        }
        Stage::Running { eta } => (
            Some(10.0),
            format!("running{}", about(eta).replacen(',', ":", 1)),
        ),
        Stage::Step(unit) => {
            let value = unit.fraction().map(|f| 10.0 + 80.0 * f);
            (value, unit.describe())
        }
        Stage::Log { level, message } => (
            None,
            clean_text(
                &format!("{}: {}", level, strip_html(&message)),
                SPACE_TEXT_MAX,
            ),
        ),
        Stage::Partial(text) => (
            None,
            format!("so far: {}", clean_text(&text, SPACE_TEXT_MAX)),
        ),
        Stage::Downloading => (Some(92.0), "downloading result".to_string()),
    }
}

/// ", about 12 s" for a known, positive ETA.
fn about(eta: Option<f64>) -> String {
    match eta {
        Some(eta) if eta.is_finite() && eta >= 0.5 => format!(", about {:.0} s", eta),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradio::ProgressUnit;

    type Seen = Arc<Mutex<Vec<(f64, String)>>>;

    fn collect() -> (Reporter, Seen) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink_seen = seen.clone();
        let sink: ProgressSink = Arc::new(move |value, total, message| {
            assert_eq!(total, Some(TOTAL));
            sink_seen.lock().unwrap().push((value, message));
        });
        (Reporter::new(Some(sink)), seen)
    }

    #[test]
    fn stages_read_for_people_and_values_only_grow() {
        let (reporter, seen) = collect();
        reporter.stage(Stage::Queued {
            rank: Some(2),
            size: Some(7),
            eta: Some(12.3),
        });
        reporter.stage(Stage::Queued {
            rank: Some(0),
            size: Some(1),
            eta: None,
        });
        reporter.stage(Stage::Running { eta: Some(3.0) });
        for i in [3.0, 20.0] {
            reporter.stage(Stage::Step(ProgressUnit {
                index: Some(i),
                length: Some(20.0),
                unit: Some("steps".into()),
                progress: None,
                desc: Some("denoising".into()),
            }));
        }
        reporter.stage(Stage::Log {
            level: "info".into(),
            message: "<b>GPU</b> ready &amp; warm".into(),
        });
        reporter.stage(Stage::Downloading);
        let seen = seen.lock().unwrap();
        let messages: Vec<&str> = seen.iter().map(|(_, m)| m.as_str()).collect();
        assert_eq!(
            messages,
            [
                "in queue: position 3 of 7, about 12 s",
                "in queue: position 1 of 1",
                "running: about 3 s",
                "denoising: step 3 of 20",
                "denoising: step 20 of 20",
                "info: GPU ready & warm",
                // The log line rides along for a while: coalescing cannot lose it.
                "downloading result (info: GPU ready & warm)",
            ]
        );
        assert!(seen.windows(2).all(|w| w[1].0 > w[0].0), "{seen:?}");
        assert!(seen.iter().all(|(v, _)| *v < TOTAL));
    }

    #[test]
    fn keep_alive_repeats_only_after_silence() {
        let (reporter, seen) = collect();
        reporter.stage(Stage::Running { eta: None });
        reporter.keep_alive();
        assert_eq!(
            seen.lock().unwrap().len(),
            1,
            "no repeat right after a report"
        );
        reporter.lock().sent -= KEEP_ALIVE;
        reporter.keep_alive();
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2);
        assert!(
            seen[1].1.starts_with("running (still running, "),
            "{}",
            seen[1].1
        );
        assert!(seen[1].0 > seen[0].0);
    }
}

//! Gradio's queue API, what its own clients use: `POST <prefix>/queue/join`
//! puts an event in the Space's queue, `GET <prefix>/queue/data?session_hash=…`
//! streams what happens to it, and `POST <prefix>/cancel` stops it.
//!
//! Only this API tells the queue position, the ETA, progress steps from
//! `gr.Progress`, and `gr.Info`/`gr.Warning` logs (ZeroGPU reports its GPU
//! waits there), and only it can cancel an event, so calls use it whenever the
//! Space speaks a protocol that has it (`sse_v2` and later).

use std::time::Duration;

use futures_util::Stream;
use serde::Deserialize;
use serde_json::Value;

use super::event_reader::SseReader;
use super::partial::{PARTIAL_MAX, Partial};
use super::{GradioError, Observer, Stage};

/// One message of the queue's data stream, for our event.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum QueueEvent {
    /// The event waits: `rank` events ahead of it (0: next), of `queue_size`.
    Queued {
        rank: Option<u64>,
        queue_size: Option<u64>,
        eta: Option<f64>,
    },
    /// The event runs.
    Started { eta: Option<f64> },
    /// A `gr.Progress` or tqdm update.
    Progress(Vec<ProgressUnit>),
    /// `gr.Info`, `gr.Warning`, or a ZeroGPU notice.
    Log { level: String, message: String },
    /// A partial result of a generator: its `output.data` (diffs from
    /// `sse_v2` on, after the first; the final result always comes whole in
    /// `Completed`).
    Generating(Vec<Value>),
    /// The event ended: its outputs, or why not.
    Completed(Result<Vec<Value>, QueueFailure>),
    /// The session's stream ends (`close_stream`).
    Closed,
    /// Heartbeats and kinds a newer Gradio may add.
    Other,
}

/// How an event ended without outputs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum QueueFailure {
    /// The Space's error message.
    Error(String),
    /// An error whose cause the app hides.
    Hidden,
    /// Cancelled: it ends with `success` and an empty output.
    Cancelled,
}

/// One bar of progress: steps (`index` of `length`) or a fraction.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub(crate) struct ProgressUnit {
    #[serde(default)]
    pub(crate) index: Option<f64>,
    #[serde(default)]
    pub(crate) length: Option<f64>,
    #[serde(default)]
    pub(crate) unit: Option<String>,
    #[serde(default)]
    pub(crate) progress: Option<f64>,
    #[serde(default)]
    pub(crate) desc: Option<String>,
}

impl ProgressUnit {
    /// How far along, from 0 to 1, when the unit says.
    pub(crate) fn fraction(&self) -> Option<f64> {
        match (self.index, self.length, self.progress) {
            (Some(i), Some(n), _) if n > 0.0 => Some((i / n).clamp(0.0, 1.0)),
            (_, _, Some(p)) => Some(p.clamp(0.0, 1.0)),
            _ => None,
        }
    }

    /// "denoising: step 3 of 20", "sleeping: 40%".
    pub(crate) fn describe(&self) -> String {
        let what = self
            .desc
            .as_deref()
            .filter(|d| !d.trim().is_empty())
            .unwrap_or("working");
        match (self.index, self.length) {
            (Some(i), Some(n)) => match self.unit.as_deref().map(str::trim) {
                None | Some("steps" | "step" | "it" | "") => {
                    format!("{what}: step {} of {}", i as u64, n as u64)
                }
                Some(unit) => format!("{what}: {}/{} {unit}", i as u64, n as u64),
            },
            _ => match self.fraction() {
                Some(f) => format!("{what}: {:.0}%", f * 100.0),
                None => what.to_string(),
            },
        }
    }
}

/// A raw message of the data stream.
#[derive(Deserialize)]
struct Message {
    msg: String,
    #[serde(default)]
    event_id: Option<String>,
    #[serde(default)]
    rank: Option<u64>,
    #[serde(default)]
    queue_size: Option<u64>,
    #[serde(default)]
    rank_eta: Option<f64>,
    #[serde(default)]
    eta: Option<f64>,
    #[serde(default)]
    progress_data: Option<Vec<ProgressUnit>>,
    #[serde(default)]
    log: Option<String>,
    #[serde(default)]
    level: Option<String>,
    #[serde(default)]
    success: Option<bool>,
    #[serde(default)]
    output: Option<Value>,
}

/// Reads one `data:` payload of the stream: what happened, and the event it is for
/// (`None` for session-wide messages such as heartbeats).
pub(crate) fn parse(data: &str) -> Option<(Option<String>, QueueEvent)> {
    let message: Message = match serde_json::from_str(data) {
        Ok(message) => message,
        // A NaN in an output (a dataframe's missing value) is null.
        Err(_) => serde_json::from_value(super::json::parse(data).ok()?).ok()?,
    };
    let event = match message.msg.as_str() {
        "estimation" => QueueEvent::Queued {
            rank: message.rank,
            queue_size: message.queue_size,
            eta: message.rank_eta,
        },
        "process_starts" => QueueEvent::Started { eta: message.eta },
        "progress" => QueueEvent::Progress(message.progress_data.unwrap_or_default()),
        "log" => QueueEvent::Log {
            level: message.level.unwrap_or_else(|| "info".into()),
            message: message.log.unwrap_or_default(),
        },
        "process_generating" => QueueEvent::Generating(
            message
                .output
                .as_ref()
                .and_then(|o| o.get("data"))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
        ),
        "process_completed" => {
            let output = message.output.unwrap_or(Value::Null);
            if message.success == Some(true) {
                match output.get("data") {
                    Some(Value::Array(data)) => QueueEvent::Completed(Ok(data.clone())),
                    // `output: {}`: the event was cancelled.
                    _ => QueueEvent::Completed(Err(QueueFailure::Cancelled)),
                }
            } else {
                let error = output
                    .get("error")
                    .and_then(Value::as_str)
                    .map(str::trim)
                    .filter(|e| !e.is_empty())
                    .map(str::to_string);
                QueueEvent::Completed(Err(error.map_or(QueueFailure::Hidden, QueueFailure::Error)))
            }
        }
        "close_stream" => QueueEvent::Closed,
        _ => QueueEvent::Other,
    };
    Some((message.event_id, event))
}

/// Reads the queue's data stream until our event's outcome: its outputs,
/// or the error the Space reported (the inner result), telling each stage
/// to `observe`. The outer error is the stream's own failure (it ended, or
/// went quiet past `idle`): the event may still be running on the Space.
/// The twin of the call API's `events::follow`.
pub(crate) async fn follow_queue<S, B, E>(
    body: S,
    event_id: &str,
    idle: Duration,
    observe: Observer<'_>,
) -> Result<Result<Vec<Value>, GradioError>, GradioError>
where
    S: Stream<Item = Result<B, E>> + Unpin,
    B: AsRef<[u8]>,
    E: std::fmt::Display,
{
    let mut events = SseReader::new(body);
    let mut partial = Partial::default();
    loop {
        let Some(message) = events.next(idle).await? else {
            return Err(GradioError::StreamEnded);
        };
        let Some((id, event)) = parse(&message.data) else {
            continue;
        };
        if id.as_deref().is_some_and(|id| id != event_id) {
            continue;
        }
        match event {
            QueueEvent::Queued {
                rank,
                queue_size,
                eta,
            } => observe(Stage::Queued {
                rank,
                size: queue_size,
                eta,
            }),
            QueueEvent::Started { eta } => observe(Stage::Running { eta }),
            QueueEvent::Progress(units) => {
                if let Some(unit) = units.into_iter().last() {
                    observe(Stage::Step(unit));
                }
            }
            QueueEvent::Log { level, message } => observe(Stage::Log { level, message }),
            QueueEvent::Completed(outcome) => {
                return Ok(match outcome {
                    Ok(outputs) => Ok(outputs),
                    Err(QueueFailure::Error(message)) => Err(GradioError::App(message)),
                    Err(QueueFailure::Hidden) => Err(GradioError::AppHidden),
                    Err(QueueFailure::Cancelled) => Err(GradioError::Cancelled),
                });
            }
            QueueEvent::Closed => return Err(GradioError::StreamEnded),
            QueueEvent::Generating(data) => {
                // The first comes whole, the rest as diffs (the queue API
                // is followed only from `sse_v2` on, which sends diffs).
                if partial.update(data, true)
                    && let Some(text) = partial.text(PARTIAL_MAX)
                {
                    observe(Stage::Partial(text));
                }
            }
            QueueEvent::Other => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(name: &str) -> Vec<(Option<String>, QueueEvent)> {
        crate::fixtures::wire(name)
            .lines()
            .filter_map(|l| l.split_once("data: ").map(|(_, d)| d))
            .filter_map(parse)
            .collect()
    }

    #[test]
    fn a_job_with_progress_reads_in_order() {
        let events = stream("queue-progress-complete.txt");
        let id = Some("1c5edb173f2840e69710bf5bcd81af41".to_string());
        assert!(
            matches!(&events[0], (i, QueueEvent::Queued { rank: Some(0), queue_size: Some(1), .. }) if *i == id)
        );
        assert!(matches!(events[1].1, QueueEvent::Started { .. }));
        let QueueEvent::Progress(units) = &events[2].1 else {
            panic!("{:?}", events[2])
        };
        assert_eq!(units[0].describe(), "denoising: step 5 of 5");
        assert_eq!(units[0].fraction(), Some(1.0));
        let QueueEvent::Completed(Ok(outputs)) = &events[3].1 else {
            panic!("{:?}", events[3])
        };
        assert!(outputs[0]["url"].as_str().unwrap().ends_with("image.webp"));
        assert_eq!(events[4], (None, QueueEvent::Closed));
    }

    #[test]
    fn errors_and_cancellation() {
        let events = stream("queue-gr-error.txt");
        assert!(events.iter().any(|(_, e)| *e
            == QueueEvent::Completed(Err(QueueFailure::Error(
                "Text input cannot be empty.".into()
            )))));
        let events = stream("queue-cancel.txt");
        assert!(
            events
                .iter()
                .any(|(_, e)| *e == QueueEvent::Completed(Err(QueueFailure::Cancelled)))
        );
        let QueueEvent::Progress(units) = &events[2].1 else {
            panic!()
        };
        assert_eq!(units[0].describe(), "sleeping: 0/10 s");
    }

    #[test]
    fn progress_reads_for_people() {
        let unit = |index, length, unit: Option<&str>, progress, desc: Option<&str>| ProgressUnit {
            index,
            length,
            unit: unit.map(str::to_string),
            progress,
            desc: desc.map(str::to_string),
        };
        assert_eq!(
            unit(
                Some(3.0),
                Some(20.0),
                Some("steps"),
                None,
                Some("denoising")
            )
            .describe(),
            "denoising: step 3 of 20"
        );
        assert_eq!(
            unit(None, None, None, Some(0.4), Some("loading")).describe(),
            "loading: 40%"
        );
        assert_eq!(unit(None, None, None, None, None).describe(), "working");
        assert_eq!(
            unit(Some(2.0), Some(4.0), Some("images"), None, None).describe(),
            "working: 2/4 images"
        );
        assert!(parse("not json").is_none());
        assert_eq!(
            parse(r#"{"msg":"log","event_id":"e","log":"GPU queue: 2nd","level":"info"}"#)
                .unwrap()
                .1,
            QueueEvent::Log {
                level: "info".into(),
                message: "GPU queue: 2nd".into()
            }
        );
    }
}

/// A bounded fuzz pass: no message a Space sends makes the parser panic.
#[cfg(test)]
mod fuzz {
    use super::*;
    use proptest::prelude::*;

    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            "[a-z_]{0,12}".prop_map(Value::from),
            prop_oneof![
                Just("estimation"),
                Just("process_starts"),
                Just("progress"),
                Just("log"),
                Just("process_generating"),
                Just("process_completed"),
                Just("close_stream"),
            ]
            .prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::vec(
                    (
                        prop_oneof![
                            Just("msg".to_string()),
                            Just("output".to_string()),
                            Just("data".to_string()),
                            Just("success".to_string()),
                            Just("progress_data".to_string()),
                            Just("rank".to_string()),
                            Just("error".to_string()),
                            Just("event_id".to_string()),
                            "[a-z]{1,6}",
                        ],
                        inner
                    ),
                    0..6,
                )
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(crate::fuzzing::cases(3000))]

        #[test]
        fn fuzz_recorded_messages_mutated(text in crate::fuzzing::mutated_text(crate::fuzzing::seeds(&["queue-", "call-"]))) {
            for line in text.lines() {
                let data = line.strip_prefix("data:").unwrap_or(line).trim();
                if let Some((_, QueueEvent::Progress(units))) = parse(data) {
                    for unit in units {
                        let _ = unit.describe();
                        if let Some(f) = unit.fraction() {
                            prop_assert!((0.0..=1.0).contains(&f));
                        }
                    }
                }
            }
        }

        #[test]
        fn fuzz_no_message_panics_the_parser(value in json()) {
            if let Some((_, QueueEvent::Progress(units))) = parse(&value.to_string()) {
                for unit in units {
                    let _ = unit.describe();
                    if let Some(f) = unit.fraction() {
                        prop_assert!((0.0..=1.0).contains(&f));
                    }
                }
            }
        }

        #[test]
        fn fuzz_no_text_panics_the_parser(text in ".{0,200}") {
            let _ = parse(&text);
        }
    }
}

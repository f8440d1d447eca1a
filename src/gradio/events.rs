//! Following a call's event stream (`GET <prefix>/call/<api>/<event_id>`) to
//! its end.
//!
//! Gradio sends named server-sent events: `generating` (a partial result),
//! `complete` (the outputs), `error`, and `heartbeat` every 15 s or so while a
//! event runs. A stream may also stall for good (reading an event twice leaves it
//! open with nothing sent), so every read is guarded by an idle timeout.

use std::time::Duration;

use futures_util::Stream;
use serde_json::Value;

use super::GradioError;
use super::event_reader::SseReader;

/// One event of a call's stream, as this server understands it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CallEvent {
    /// A partial result of a generator endpoint; the last one is kept in case
    /// the stream ends without a `complete`.
    Generating(Vec<Value>),
    /// The outputs, one per output component.
    Complete(Vec<Value>),
    /// An event cancelled through the queue API ends the stream with
    /// `complete` and `null` data.
    Cancelled,
    /// An error; `None` when the app hides its cause (or on Gradio 4.20–6.12,
    /// whose call API drops the message).
    Error(Option<String>),
    /// Heartbeats and event kinds a newer Gradio may add.
    Ignored,
}

impl CallEvent {
    /// Reads one event from its name and its `data:` text.
    pub(crate) fn parse(event: &str, data: &str) -> Result<CallEvent, GradioError> {
        let bad = |reason: String| GradioError::Protocol {
            what: "the result stream",
            reason,
        };
        let value = || -> Result<Value, GradioError> {
            super::json::parse(data).map_err(|e| bad(format!("`{event}` data is not JSON ({e})")))
        };
        let outputs = |value: Value| match value {
            Value::Array(items) => Ok(items),
            other => Err(bad(format!(
                "`{event}` data is not a list of outputs but {}",
                kind_of(&other)
            ))),
        };
        Ok(match event {
            "complete" => match value()? {
                Value::Null => CallEvent::Cancelled,
                v => CallEvent::Complete(outputs(v)?),
            },
            "generating" => CallEvent::Generating(outputs(value()?)?),
            "error" => CallEvent::Error(error_message(
                &value().unwrap_or_else(|_| Value::String(data.to_string())),
            )),
            _ => CallEvent::Ignored,
        })
    }
}

/// What kind of JSON value came, for messages.
fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The message in an `error` event's data, in each form Gradio has used:
/// `{"error": "text", ...}` (6.13+), `{"error": null}`, a bare string such as
/// `"404: Not Found"`, or `null` (4.20–6.12).
fn error_message(data: &Value) -> Option<String> {
    let text = match data {
        Value::Object(map) => map.get("error").and_then(Value::as_str),
        Value::String(s) => Some(s.as_str()),
        _ => None,
    };
    text.map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
}

/// Reads a call's event stream until its outcome: the outputs of `complete`,
/// or an error. `idle` bounds the wait for each next piece of the stream.
pub(crate) async fn follow<S, B, E>(
    body: S,
    idle: Duration,
    observe: super::Observer<'_>,
) -> Result<Vec<Value>, GradioError>
where
    S: Stream<Item = Result<B, E>> + Unpin,
    B: AsRef<[u8]>,
    E: std::fmt::Display,
{
    let mut events = SseReader::new(body);
    let mut last_partial = None;
    while let Some(event) = events.next(idle).await? {
        match CallEvent::parse(&event.event, &event.data)? {
            CallEvent::Complete(outputs) => return Ok(outputs),
            CallEvent::Generating(outputs) => {
                // The call API sends each partial value whole.
                let mut partial = super::partial::Partial::default();
                partial.update(outputs.clone(), false);
                if let Some(text) = partial.text(super::partial::PARTIAL_MAX) {
                    observe(super::Stage::Partial(text));
                }
                last_partial = Some(outputs);
            }
            CallEvent::Cancelled => return Err(GradioError::Cancelled),
            CallEvent::Error(Some(message)) => return Err(GradioError::App(message)),
            CallEvent::Error(None) => return Err(GradioError::AppHidden),
            CallEvent::Ignored => {}
        }
    }
    match last_partial {
        // A generator whose stream closed after its last value: that value is the result.
        Some(outputs) => Ok(outputs),
        None => Err(GradioError::StreamEnded),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::stream;

    use crate::fixtures::wire;

    /// The event stream of a transcript: what follows its last `> GET` line
    /// (and, for captures with headers, the blank line after them).
    fn stream_of(transcript: &str) -> String {
        let (_, after) = transcript
            .rsplit_once("> GET ")
            .expect("a GET in the transcript");
        let body = after.split_once('\n').map(|(_, b)| b).unwrap_or("");
        match body.split_once("\r\n\r\n") {
            Some((head, rest)) if head.starts_with("HTTP/") => rest.to_string(),
            _ => body.to_string(),
        }
    }

    /// Feeds `text` in chunks of `size` bytes, as a network would split it.
    async fn run(text: &str, size: usize) -> Result<Vec<Value>, GradioError> {
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> = text
            .as_bytes()
            .chunks(size)
            .map(|c| Ok(c.to_vec()))
            .collect();
        follow(stream::iter(chunks), Duration::from_secs(5), &|_| {}).await
    }

    #[tokio::test]
    async fn complete_gives_every_output_in_order() {
        for size in [1, 7, 4096] {
            let out = run(&stream_of(wire("call-image-complete.txt")), size)
                .await
                .unwrap();
            assert_eq!(out.len(), 2);
            assert!(out[0]["url"].as_str().unwrap().ends_with("image.webp"));
            assert_eq!(out[1], Value::from(629686064u64));
        }
        let out = run(&stream_of(wire("call-audio-complete.txt")), 13)
            .await
            .unwrap();
        assert_eq!(out[0]["orig_name"], "audio.wav");
    }

    #[tokio::test]
    async fn heartbeats_are_skipped_and_generators_give_their_final_value() {
        let out = run(&stream_of(wire("call-slow-heartbeat.txt")), 5)
            .await
            .unwrap();
        assert_eq!(out, [Value::from("slept 22s")]);
        let out = run(&stream_of(wire("call-generator-stream.txt")), 9)
            .await
            .unwrap();
        assert_eq!(out, [Value::from("one two three")]);
        // A generator stream that closes without `complete` still yields its last value.
        let out = run(
            "event: generating\ndata: [\"a\"]\n\nevent: generating\ndata: [\"a b\"]\n\n",
            4,
        )
        .await
        .unwrap();
        assert_eq!(out, [Value::from("a b")]);
    }

    #[tokio::test]
    async fn errors_keep_the_spaces_message_verbatim() {
        match run(&stream_of(wire("call-gr-error.txt")), 3).await {
            Err(GradioError::App(m)) => assert_eq!(m, "Text input cannot be empty."),
            other => panic!("{other:?}"),
        }
        match run(&stream_of(wire("call-unknown-event.txt")), 3).await {
            Err(GradioError::App(m)) => assert_eq!(m, "404: Not Found"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            run(&stream_of(wire("call-partial-data-error.txt")), 3).await,
            Err(GradioError::AppHidden)
        ));
        // Gradio 4.20–6.12: the error event's data is null.
        assert!(matches!(
            run("event: error\ndata: null\n\n", 64).await,
            Err(GradioError::AppHidden)
        ));
    }

    #[tokio::test]
    async fn cancelled_cut_and_malformed_streams_are_errors() {
        assert!(matches!(
            run("event: complete\ndata: null\n\n", 64).await,
            Err(GradioError::Cancelled)
        ));
        // A stream cut mid-event (a fault a real app cannot be made to produce on demand).
        assert!(matches!(
            run(
                "event: heartbeat\ndata: null\n\nevent: complete\ndata: [1, 2",
                64
            )
            .await,
            Err(GradioError::StreamEnded)
        ));
        assert!(matches!(run("", 64).await, Err(GradioError::StreamEnded)));
        assert!(matches!(
            run("event: complete\ndata: {not json\n\n", 64).await,
            Err(GradioError::Protocol { .. })
        ));
        assert!(matches!(
            run("event: complete\ndata: 42\n\n", 64).await,
            Err(GradioError::Protocol { .. })
        ));
        // Unknown event kinds are ignored.
        let out = run(
            "event: novelty\ndata: {}\n\nevent: complete\ndata: [true]\n\n",
            64,
        )
        .await
        .unwrap();
        assert_eq!(out, [Value::Bool(true)]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_stream_times_out() {
        let silent = stream::pending::<Result<Vec<u8>, std::io::Error>>();
        let err = follow(silent, Duration::from_secs(45), &|_| {})
            .await
            .unwrap_err();
        assert!(matches!(err, GradioError::Idle(d) if d == Duration::from_secs(45)));
    }
}

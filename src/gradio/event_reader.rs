//! Server-sent events from a Space, read in bounded memory and linear time.
//!
//! A Space is outside our control: a hostile or broken one may send a line
//! that never ends, or trickle bytes forever. So this reader
//! - scans each byte once (a partial line is never rescanned from its start),
//! - refuses any line or event larger than [`MAX_EVENT_BYTES`],
//! - and gives each event an `idle` budget that bytes alone do not renew:
//!   only a complete event does. A stream that keeps sending but never
//!   finishes an event times out like a silent one.
//!
//! It follows the SSE format (lines end in LF, CRLF or CR; `event:`, `data:`,
//! comments) as far as Gradio uses it; `id:` and `retry:` are ignored.

use std::time::Duration;

use futures_util::{Stream, StreamExt};

use super::GradioError;

/// The largest line or event a Space may send: far above any real result
/// (files travel as URLs), far below what would hurt the process.
pub(crate) const MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SseEvent {
    /// The `event:` name; empty for unnamed events (the queue API's).
    pub(crate) event: String,
    /// The `data:` lines joined by `\n`.
    pub(crate) data: String,
}

/// Reads events from a byte stream.
pub(crate) struct SseReader<S> {
    body: S,
    /// Bytes received and not yet consumed; `start` marks the first unconsumed one.
    buf: Vec<u8>,
    start: usize,
    /// How far past `start` has been searched for a line end.
    scanned: usize,
    event: String,
    data: String,
    /// Whether any `data:` line came for the event being built.
    has_data: bool,
    ended: bool,
    max: usize,
}

impl<S, B, E> SseReader<S>
where
    S: Stream<Item = Result<B, E>> + Unpin,
    B: AsRef<[u8]>,
    E: std::fmt::Display,
{
    pub(crate) fn new(body: S) -> SseReader<S> {
        SseReader::with_limit(body, MAX_EVENT_BYTES)
    }

    pub(crate) fn with_limit(body: S, max: usize) -> SseReader<S> {
        SseReader {
            body,
            buf: Vec::new(),
            start: 0,
            scanned: 0,
            event: String::new(),
            data: String::new(),
            has_data: false,
            ended: false,
            max,
        }
    }

    /// The next event, `None` at the end of the stream. Fails when no event
    /// completes within `idle`, whatever bytes arrive meanwhile.
    pub(crate) async fn next(&mut self, idle: Duration) -> Result<Option<SseEvent>, GradioError> {
        let deadline = tokio::time::Instant::now() + idle;
        loop {
            while let Some(line) = self.next_line()? {
                if let Some(event) = self.feed(&line)? {
                    return Ok(Some(event));
                }
            }
            if self.ended {
                // An event cut off by the end of the stream is not dispatched (as the SSE spec says).
                return Ok(None);
            }
            // Checked here too: a body that is always ready never lets a timer fire.
            if tokio::time::Instant::now() >= deadline {
                return Err(GradioError::Idle(idle));
            }
            let chunk = tokio::time::timeout_at(deadline, self.body.next())
                .await
                .map_err(|_| GradioError::Idle(idle))?;
            match chunk {
                None => self.ended = true,
                Some(Err(e)) => return Err(GradioError::StreamBroken(e.to_string())),
                Some(Ok(bytes)) => self.push(bytes.as_ref()),
            }
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        if self.start > 0 {
            // Once per chunk: what is left is at most one partial line.
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete line, without its terminator.
    fn next_line(&mut self) -> Result<Option<String>, GradioError> {
        let from = self.start + self.scanned;
        let found = self.buf[from..]
            .iter()
            .position(|&b| b == b'\n' || b == b'\r')
            .map(|i| from + i);
        let Some(end) = found else {
            self.scanned = self.buf.len() - self.start;
            if self.scanned > self.max {
                return Err(self.too_large());
            }
            if self.ended && self.scanned > 0 {
                // The last line of a stream that ends without a newline.
                let line = self.take_line(self.buf.len(), self.buf.len());
                return Ok(Some(line));
            }
            return Ok(None);
        };
        if end - self.start > self.max {
            return Err(self.too_large());
        }
        let next = if self.buf[end] == b'\r' {
            match self.buf.get(end + 1) {
                Some(b'\n') => end + 2,
                Some(_) => end + 1,
                // A CR at the end of what arrived: an LF may follow.
                None if !self.ended => {
                    self.scanned = end - self.start;
                    return Ok(None);
                }
                None => end + 1,
            }
        } else {
            end + 1
        };
        Ok(Some(self.take_line(end, next)))
    }

    fn take_line(&mut self, end: usize, next: usize) -> String {
        let line = String::from_utf8_lossy(&self.buf[self.start..end]).into_owned();
        self.start = next;
        self.scanned = 0;
        line
    }

    /// Applies one line; an empty line dispatches the event being built.
    fn feed(&mut self, line: &str) -> Result<Option<SseEvent>, GradioError> {
        if line.is_empty() {
            let event = std::mem::take(&mut self.event);
            let data = std::mem::take(&mut self.data);
            let had_data = std::mem::replace(&mut self.has_data, false);
            return Ok(had_data.then_some(SseEvent { event, data }));
        }
        if line.starts_with(':') {
            return Ok(None);
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "event" => self.event = value.to_string(),
            "data" => {
                if self.data.len() + value.len() + 1 > self.max {
                    return Err(self.too_large());
                }
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            _ => {}
        }
        Ok(None)
    }

    fn too_large(&self) -> GradioError {
        GradioError::Oversize {
            what: "an event of the result stream".into(),
            max: self.max as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::stream;

    type Chunk = Result<Vec<u8>, std::io::Error>;

    fn chunks(text: &str, size: usize) -> Vec<Chunk> {
        text.as_bytes()
            .chunks(size.max(1))
            .map(|c| Ok(c.to_vec()))
            .collect()
    }

    async fn all(text: &str, size: usize) -> Result<Vec<SseEvent>, GradioError> {
        let mut reader = SseReader::new(stream::iter(chunks(text, size)));
        let mut events = Vec::new();
        while let Some(event) = reader.next(Duration::from_secs(5)).await? {
            events.push(event);
        }
        Ok(events)
    }

    fn ev(event: &str, data: &str) -> SseEvent {
        SseEvent {
            event: event.into(),
            data: data.into(),
        }
    }

    #[tokio::test]
    async fn every_line_ending_and_any_chunking_give_the_same_events() {
        let text = "event: complete\ndata: [1]\n\n: comment\ndata: a\ndata: b\n\n";
        for size in [1, 2, 3, 7, 4096] {
            for ending in ["\n", "\r\n", "\r"] {
                let text = text.replace('\n', ending);
                assert_eq!(
                    all(&text, size).await.unwrap(),
                    [ev("complete", "[1]"), ev("", "a\nb")],
                    "size {size}, ending {ending:?}"
                );
            }
        }
    }

    #[tokio::test]
    async fn an_event_without_data_is_not_dispatched_and_a_cut_one_is_dropped() {
        assert_eq!(
            all("event: x\n\ndata: y\n\n", 3).await.unwrap(),
            [ev("", "y")]
        );
        assert_eq!(all("data: y\n\ndata: cut", 3).await.unwrap(), [ev("", "y")]);
        assert_eq!(
            all("data:nospace\n\n", 64).await.unwrap(),
            [ev("", "nospace")]
        );
    }

    #[tokio::test]
    async fn a_line_over_the_limit_is_refused() {
        let mut reader = SseReader::with_limit(
            stream::iter(chunks(&format!("data: {}", "A".repeat(100)), 7)),
            50,
        );
        assert!(matches!(
            reader.next(Duration::from_secs(5)).await,
            Err(GradioError::Oversize { .. })
        ));
        // Many data lines that add up past the limit, too.
        let text = "data: 0123456789\n".repeat(10);
        let mut reader = SseReader::with_limit(stream::iter(chunks(&text, 64)), 50);
        assert!(matches!(
            reader.next(Duration::from_secs(5)).await,
            Err(GradioError::Oversize { .. })
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn bytes_that_never_finish_an_event_still_time_out() {
        // A stream that sends a byte every 100 ms forever, never a newline.
        let trickle = stream::unfold((), |()| async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            Some((Ok::<_, std::io::Error>(b"A".to_vec()), ()))
        });
        let mut reader = SseReader::new(Box::pin(trickle));
        let started = tokio::time::Instant::now();
        let result = reader.next(Duration::from_secs(3)).await;
        assert!(matches!(result, Err(GradioError::Idle(_))), "{result:?}");
        assert!(started.elapsed() < Duration::from_secs(4));
    }

    #[tokio::test]
    async fn an_always_ready_body_cannot_hold_the_reader() {
        // Infinite data with no newline, ready at once every time: the reader
        // must stop at its size limit, not spin.
        let endless = stream::repeat_with(|| Ok::<_, std::io::Error>(vec![b'A'; 4096]));
        let mut reader = SseReader::with_limit(endless, 1 << 20);
        assert!(matches!(
            reader.next(Duration::from_secs(60)).await,
            Err(GradioError::Oversize { .. })
        ));
    }
}

/// A bounded fuzz pass, run with the unit tests: whatever bytes a Space
/// sends, split however the network splits them, the reader neither panics
/// nor gives different events for different splits.
#[cfg(test)]
mod fuzz {
    use super::*;
    use futures_util::stream;
    use proptest::prelude::*;

    fn events_of(bytes: &[u8], cuts: &[usize]) -> Result<Vec<SseEvent>, String> {
        let mut pieces = Vec::new();
        let mut at = 0;
        for &cut in cuts {
            let cut = cut % (bytes.len() + 1);
            if cut > at {
                pieces.push(Ok::<_, std::io::Error>(bytes[at..cut].to_vec()));
                at = cut;
            }
        }
        pieces.push(Ok(bytes[at..].to_vec()));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .map_err(|e| e.to_string())?;
        runtime.block_on(async {
            let mut reader = SseReader::with_limit(stream::iter(pieces), 256);
            let mut events = Vec::new();
            loop {
                match reader.next(Duration::from_secs(5)).await {
                    Ok(Some(event)) => events.push(event),
                    Ok(None) => return Ok(events),
                    Err(e) => return Err(format!("{e:?}")),
                }
            }
        })
    }

    /// Bytes that look like SSE more often than random bytes would.
    fn sse_bytes() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            Just(b"data: ".to_vec()),
            Just(b"event: complete".to_vec()),
            Just(b"\n".to_vec()),
            Just(b"\r\n".to_vec()),
            Just(b"\r".to_vec()),
            Just(b":".to_vec()),
            proptest::collection::vec(any::<u8>(), 0..40),
        ];
        proptest::collection::vec(piece, 0..40).prop_map(|p| p.concat())
    }

    /// Recorded Gradio streams, mutated.
    fn recorded_streams() -> impl Strategy<Value = Vec<u8>> {
        crate::fuzzing::mutated(crate::fuzzing::seeds(&["call-", "queue-"]))
    }

    proptest! {
        #![proptest_config(crate::fuzzing::cases(1500))]

        #[test]
        fn fuzz_recorded_streams_any_split_same_events(bytes in recorded_streams(), cuts in proptest::collection::vec(any::<usize>(), 0..8)) {
            let whole = events_of(&bytes, &[]);
            let split = events_of(&bytes, &cuts);
            prop_assert_eq!(whole.is_ok(), split.is_ok());
            if let (Ok(a), Ok(b)) = (&whole, &split) {
                prop_assert_eq!(a, b);
            }
        }

        #[test]
        fn fuzz_any_bytes_any_split_same_events(bytes in sse_bytes(), cuts in proptest::collection::vec(any::<usize>(), 0..8)) {
            let whole = events_of(&bytes, &[]);
            let split = events_of(&bytes, &cuts);
            match (&whole, &split) {
                (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
                // Limits may trip at different points, but both must trip.
                (Err(_), Err(_)) => {}
                _ => prop_assert!(false, "{:?} vs {:?}", whole, split),
            }
            if let Ok(events) = whole {
                for event in events {
                    prop_assert!(event.data.len() <= 256 + 1);
                }
            }
        }
    }
}

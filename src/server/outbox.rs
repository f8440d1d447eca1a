//! What one request sends its client while it runs: progress and the
//! Space's log lines, each through a bounded outbox, on every transport.
//!
//! A Space decides how often it reports, and a client decides how fast it
//! reads; neither may grow this server. Progress is coalesced: only the
//! latest report waits, and at most one goes out every
//! [`PROGRESS_INTERVAL`]. Log lines wait in a queue of [`LOG_QUEUE`] per
//! request; past that the oldest are dropped, and the client is told how
//! many before the next line it gets.

// SEP-2577 deprecates logging in rmcp; clients still opt in to it.
#![allow(deprecated)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::RoleServer;
use rmcp::model::{LoggingLevel, LoggingMessageNotificationParam, ProgressNotificationParam};
use rmcp::service::RequestContext;

use crate::call::progress::{LogSink, ProgressSink};

/// The shortest time between two progress notifications of one request.
pub(crate) const PROGRESS_INTERVAL: Duration = Duration::from_millis(250);

/// The most log lines one request holds for a client that reads slowly.
pub(crate) const LOG_QUEUE: usize = 64;

/// Progress for the request of `context`, if it asked for it (a progress
/// token): the latest report wins.
pub(super) fn progress_sink(context: &RequestContext<RoleServer>) -> Option<ProgressSink> {
    let token = context.meta.get_progress_token()?;
    let peer = context.peer.clone();
    let (latest, mut receiver) = tokio::sync::watch::channel(None::<ProgressNotificationParam>);
    tokio::spawn(async move {
        // Ends once the call dropped its sink and the last report went out.
        while receiver.changed().await.is_ok() {
            let Some(notification) = receiver.borrow_and_update().clone() else {
                continue;
            };
            if let Err(e) = peer.notify_progress(notification).await {
                tracing::debug!("progress notification not sent: {e}");
                break;
            }
            tokio::time::sleep(PROGRESS_INTERVAL).await;
        }
    });
    Some(Arc::new(move |progress, total, message| {
        let mut notification = ProgressNotificationParam::new(token.clone(), progress);
        notification.total = total;
        notification.message = Some(message);
        latest.send_replace(Some(notification));
    }))
}

/// The log lines waiting for one client.
#[derive(Default)]
struct LogQueue {
    lines: VecDeque<LoggingMessageNotificationParam>,
    /// Lines dropped (the oldest first) since the client was last told.
    dropped: usize,
    /// The call is over: send what waits, then stop.
    closed: bool,
}

/// The shared end of a log outbox.
struct LogOutbox {
    queue: Mutex<LogQueue>,
    ready: tokio::sync::Notify,
}

impl LogOutbox {
    fn queue(&self) -> std::sync::MutexGuard<'_, LogQueue> {
        crate::locks::lock(&self.queue)
    }

    fn push(&self, line: LoggingMessageNotificationParam) {
        {
            let mut queue = self.queue();
            if queue.lines.len() >= LOG_QUEUE {
                queue.lines.pop_front();
                queue.dropped += 1;
            }
            queue.lines.push_back(line);
        }
        self.ready.notify_one();
    }
}

/// Closes the outbox when the call drops its log sink.
struct Closer(Arc<LogOutbox>);

impl Drop for Closer {
    fn drop(&mut self) {
        self.0.queue().closed = true;
        self.0.ready.notify_one();
    }
}

/// The Space's log lines at `floor` and above, for the request of
/// `context`, through a queue of at most [`LOG_QUEUE`] lines.
pub(super) fn log_sink(context: &RequestContext<RoleServer>, floor: LoggingLevel) -> LogSink {
    let peer = context.peer.clone();
    let outbox = Arc::new(LogOutbox {
        queue: Mutex::default(),
        ready: tokio::sync::Notify::new(),
    });
    let sending = outbox.clone();
    tokio::spawn(async move {
        loop {
            let (lines, dropped, closed) = {
                let mut queue = sending.queue();
                let lines = std::mem::take(&mut queue.lines);
                (lines, std::mem::take(&mut queue.dropped), queue.closed)
            };
            if dropped > 0 {
                let note = LoggingMessageNotificationParam::new(
                    LoggingLevel::Warning,
                    serde_json::Value::String(format!(
                        "{dropped} earlier log lines from the Space were dropped: the client read them more slowly than the Space wrote them (at most {LOG_QUEUE} wait per call)"
                    )),
                )
                .with_logger("spaces-mcp");
                if peer.notify_logging_message(note).await.is_err() {
                    return;
                }
            }
            for line in lines {
                if let Err(e) = peer.notify_logging_message(line).await {
                    tracing::debug!("log message not sent: {e}");
                    return;
                }
            }
            if closed && sending.queue().lines.is_empty() {
                return;
            }
            sending.ready.notified().await;
        }
    });
    let closer = Closer(outbox);
    Arc::new(move |level: &str, line: String| {
        let level = match level.to_ascii_lowercase().as_str() {
            "warning" | "warn" => LoggingLevel::Warning,
            "error" => LoggingLevel::Error,
            "debug" => LoggingLevel::Debug,
            _ => LoggingLevel::Info,
        };
        if severity(level) >= severity(floor) {
            let message =
                LoggingMessageNotificationParam::new(level, serde_json::Value::String(line))
                    .with_logger("space");
            closer.0.push(message);
        }
    })
}

/// A log level's place in the syslog order MCP uses (debug lowest).
pub(super) fn severity(level: LoggingLevel) -> u8 {
    match level {
        LoggingLevel::Debug => 0,
        LoggingLevel::Info => 1,
        LoggingLevel::Notice => 2,
        LoggingLevel::Warning => 3,
        LoggingLevel::Error => 4,
        LoggingLevel::Critical => 5,
        LoggingLevel::Alert => 6,
        LoggingLevel::Emergency => 7,
    }
}

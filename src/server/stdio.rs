//! MCP over stdin and stdout, as Claude Desktop, Cursor and most clients spawn
//! a server. stdout carries only protocol messages; logs go to stderr.
//!
//! The transport is ours rather than rmcp's because rmcp drops a line that is
//! not JSON without a word, and a client that sent a request on it waits for
//! ever. Here every line that is not a message gets the JSON-RPC error for it
//! (-32700 for text that is not JSON, -32600 for JSON that is not a message),
//! carrying the request's id whenever it can be read.

use rmcp::RoleServer;
use rmcp::ServiceExt;
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::Transport;
use serde_json::Value;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

use super::stream_guard::StreamGuard;
use super::{SpacesServer, shutdown};

/// The longest line read from stdin unless `--max-message-bytes` says
/// otherwise; longer ones are refused and skipped, never parsed (a short
/// JSON text can take a hundred times its size once parsed).
pub(crate) const DEFAULT_MAX_MESSAGE_BYTES: usize = 8 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub(crate) enum StdioError {
    #[error("the MCP session could not start: {0}")]
    Start(String),
    #[error("the MCP session ended abnormally: {0}")]
    Run(String),
}

/// Serves until the client closes stdin, or a signal asks the process to
/// stop. Calls still running then are cancelled, and their jobs cancelled
/// on the Spaces, before it returns.
pub(crate) async fn serve(server: SpacesServer, max_message: usize) -> Result<(), StdioError> {
    let jobs = server.clone();
    let transport = StreamGuard::new(
        LineTransport::new(
            BufReader::new(tokio::io::stdin()),
            tokio::io::stdout(),
            max_message,
        ),
        server.arrivals().clone(),
    );
    let running = match server.serve(transport).await {
        Ok(running) => running,
        Err(rmcp::service::ServerInitializeError::ConnectionClosed(_)) => {
            // A client that closes stdin before `initialize` (a health probe,
            // a cancelled launch) is a clean exit, not a failure.
            tracing::debug!("stdin closed before initialize");
            return Ok(());
        }
        Err(e) => return Err(StdioError::Start(e.to_string())),
    };
    // The client closing stdin ends the session; so does a signal (a
    // client that kills us politely, a terminal's Ctrl-C).
    let cancel = running.cancellation_token();
    let ended = tokio::select! {
        ended = running.waiting() => ended,
        () = shutdown::signal() => {
            tracing::info!("asked to stop: ending the session");
            cancel.cancel();
            Ok(rmcp::service::QuitReason::Cancelled)
        }
    };
    // The one client is gone: nobody can fetch a background job's result,
    // and the session's end cancelled what was running.
    shutdown::drain(&jobs).await;
    ended.map_err(|e| StdioError::Run(e.to_string()))?;
    Ok(())
}

/// Newline-delimited JSON-RPC over a reader and a writer.
pub(crate) struct LineTransport {
    incoming: mpsc::Receiver<ClientJsonRpcMessage>,
    outgoing: mpsc::Sender<Outgoing>,
}

/// A line for stdout, and who to tell once it is written: a message counts
/// as sent only when it is on stdout, so a process that exits right after
/// (stdin closed) has written every answer first.
type Outgoing = (String, Option<tokio::sync::oneshot::Sender<()>>);

#[derive(Debug, thiserror::Error)]
#[error("stdout has closed")]
pub(crate) struct OutputClosed;

impl LineTransport {
    pub(crate) fn new<R, W>(reader: R, writer: W, max_message: usize) -> LineTransport
    where
        R: AsyncBufRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let (to_server, incoming) = mpsc::channel(32);
        let (outgoing, to_writer) = mpsc::channel::<Outgoing>(32);
        tokio::spawn(write_lines(writer, to_writer));
        tokio::spawn(read_lines(reader, to_server, outgoing.clone(), max_message));
        LineTransport { incoming, outgoing }
    }
}

impl Transport<RoleServer> for LineTransport {
    type Error = OutputClosed;

    fn send(
        &mut self,
        item: ServerJsonRpcMessage,
    ) -> impl Future<Output = Result<(), OutputClosed>> + Send + 'static {
        let outgoing = self.outgoing.clone();
        async move {
            let line = serde_json::to_string(&item).map_err(|e| {
                tracing::error!("cannot serialise a message: {e}");
                OutputClosed
            })?;
            let (written, done) = tokio::sync::oneshot::channel();
            outgoing
                .send((line, Some(written)))
                .await
                .map_err(|_| OutputClosed)?;
            done.await.map_err(|_| OutputClosed)
        }
    }

    fn receive(&mut self) -> impl Future<Output = Option<ClientJsonRpcMessage>> + Send {
        self.incoming.recv()
    }

    async fn close(&mut self) -> Result<(), OutputClosed> {
        self.incoming.close();
        Ok(())
    }
}

async fn write_lines<W: AsyncWrite + Unpin>(mut writer: W, mut lines: mpsc::Receiver<Outgoing>) {
    while let Some((mut line, written)) = lines.recv().await {
        line.push('\n');
        if writer.write_all(line.as_bytes()).await.is_err() || writer.flush().await.is_err() {
            tracing::debug!("stdout closed");
            break;
        }
        if let Some(written) = written {
            let _ = written.send(());
        }
    }
}

async fn read_lines<R: AsyncBufRead + Unpin>(
    mut reader: R,
    messages: mpsc::Sender<ClientJsonRpcMessage>,
    replies: mpsc::Sender<Outgoing>,
    max_message: usize,
) {
    loop {
        let line = match read_line(&mut reader, max_message).await {
            Ok(Some(Line::Text(line))) => line,
            Ok(Some(Line::TooLong)) => {
                let reply = error_reply(
                    Value::Null,
                    -32600,
                    format!(
                        "Invalid Request: a message longer than {max_message} bytes (--max-message-bytes); it was not read"
                    ),
                );
                if replies.send((reply, None)).await.is_err() {
                    return;
                }
                continue;
            }
            Ok(None) => return,
            Err(e) => {
                tracing::debug!("stdin failed: {e}");
                return;
            }
        };
        let text = line.trim_ascii();
        // Some Windows tools start a stream with a byte-order mark.
        let text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
        if text.is_empty() {
            continue;
        }
        match serde_json::from_slice::<ClientJsonRpcMessage>(text) {
            Ok(message) => {
                if messages.send(message).await.is_err() {
                    return;
                }
            }
            Err(error) => {
                tracing::debug!("a line on stdin is not a message: {error}");
                if replies.send((refusal(text, &error), None)).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// What one read of stdin gave.
enum Line {
    Text(Vec<u8>),
    /// A line over the cap, read to its end and dropped.
    TooLong,
}

/// Reads up to the next newline without holding more than the cap.
async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    max: usize,
) -> std::io::Result<Option<Line>> {
    let mut line = Vec::new();
    let mut too_long = false;
    loop {
        let buf = reader.fill_buf().await?;
        if buf.is_empty() {
            return Ok(match (too_long, line.is_empty()) {
                (true, _) => Some(Line::TooLong),
                (false, true) => None,
                (false, false) => Some(Line::Text(line)),
            });
        }
        let (chunk, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(at) => (&buf[..at], at + 1),
            None => (buf, buf.len()),
        };
        let found_end = done <= buf.len() && buf.get(done - 1) == Some(&b'\n');
        if !too_long && line.len() + chunk.len() <= max {
            line.extend_from_slice(chunk);
        } else {
            too_long = true;
            line = Vec::new();
        }
        reader.consume(done);
        if found_end {
            return Ok(Some(if too_long {
                Line::TooLong
            } else {
                Line::Text(line)
            }));
        }
    }
}

/// The JSON-RPC error for a line that is not a client message.
pub(crate) fn refusal(text: &[u8], error: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match error.classify() {
        Category::Syntax | Category::Eof | Category::Io => error_reply(
            recover_id(text),
            -32700,
            format!("Parse error: the message is not JSON ({error})"),
        ),
        Category::Data => {
            let id = serde_json::from_slice::<Value>(text)
                .ok()
                .and_then(|v| v.get("id").cloned())
                .filter(|id| id.is_string() || id.is_number())
                .unwrap_or(Value::Null);
            error_reply(
                id,
                -32600,
                format!("Invalid Request: not a JSON-RPC message ({error})"),
            )
        }
    }
}

fn error_reply(id: Value, code: i64, message: String) -> String {
    serde_json::json!({ "jsonrpc": "2.0", "id": id, "error": { "code": code, "message": message } })
        .to_string()
}

/// The `"id"` of broken JSON, when it can still be read (`"id": 7` or
/// `"id": "abc"`), so that the client's waiting request gets its answer.
fn recover_id(text: &[u8]) -> Value {
    let text = String::from_utf8_lossy(text);
    let Some(at) = text.find("\"id\"") else {
        return Value::Null;
    };
    let rest = text[at + 4..].trim_start();
    let Some(rest) = rest.strip_prefix(':') else {
        return Value::Null;
    };
    let rest = rest.trim_start();
    if let Some(body) = rest.strip_prefix('"') {
        return match body.find('"') {
            Some(end) if !body[..end].contains('\\') => Value::String(body[..end].to_string()),
            _ => Value::Null,
        };
    }
    let number: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '-')
        .collect();
    number
        .parse::<i64>()
        .map(Value::from)
        .unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply_of(text: &str) -> Value {
        let error = serde_json::from_str::<ClientJsonRpcMessage>(text).unwrap_err();
        serde_json::from_str(&refusal(text.as_bytes(), &error)).unwrap()
    }

    #[test]
    fn broken_json_gets_a_parse_error_with_the_id_it_had() {
        let reply = reply_of(r#"{"jsonrpc":"2.0","id":7,"method":"tools/list""#);
        assert_eq!(reply["error"]["code"], -32700);
        assert_eq!(reply["id"], 7);
        let reply = reply_of(r#"{"jsonrpc":"2.0","id": "a-1","method":"#);
        assert_eq!(reply["id"], "a-1");
        let reply = reply_of("not json at all");
        assert_eq!(reply["error"]["code"], -32700);
        assert_eq!(reply["id"], Value::Null);
    }

    #[test]
    fn json_that_is_not_a_message_is_an_invalid_request() {
        let reply = reply_of(r#"{"id": 3, "hello": true}"#);
        assert_eq!(reply["error"]["code"], -32600);
        assert_eq!(reply["id"], 3);
        let reply = reply_of("[1, 2]");
        assert_eq!(reply["error"]["code"], -32600);
    }

    #[tokio::test]
    async fn lines_are_read_whole_and_overlong_ones_skipped() {
        let long = "x".repeat(100);
        let input = format!("a\n{long}\nb");
        for (max, expected) in [(1000, long.as_str()), (64, "<too long>")] {
            let mut reader = BufReader::with_capacity(7, input.as_bytes());
            let mut seen = Vec::new();
            while let Some(line) = read_line(&mut reader, max).await.unwrap() {
                seen.push(match line {
                    Line::Text(t) => String::from_utf8(t).unwrap(),
                    Line::TooLong => "<too long>".into(),
                });
            }
            assert_eq!(seen, ["a", expected, "b"], "max {max}");
        }
    }

    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        /// Lines a client might send, whole or broken.
        fn stdin_bytes() -> impl Strategy<Value = Vec<u8>> {
            const LINES: &[&[u8]] = &[
                br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"x","version":"0"}}}"#,
                br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
                br#"{"jsonrpc":"2.0","id":"a","method":"tools/call","params":{"name":"generate_image","arguments":{"prompt":"x"}}}"#,
                br#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#,
            ];
            let line = prop_oneof![
                crate::fuzzing::mutated(LINES.to_vec()),
                proptest::collection::vec(any::<u8>(), 0..300),
            ];
            proptest::collection::vec(line, 0..12).prop_map(|lines| lines.join(&b'\n'))
        }

        proptest! {
            #![proptest_config(crate::fuzzing::cases(1000))]

            /// Whatever comes on stdin, each line is one message or one
            /// reply (a line over the cap: one reply), and nothing panics.
            #[test]
            fn fuzz_stdin_lines(bytes in stdin_bytes(), capacity in 1usize..64, max in 16usize..400) {
                let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
                let (messages, replies) = runtime.block_on(async {
                    let (message_tx, mut message_rx) = mpsc::channel(1024);
                    let (reply_tx, mut reply_rx) = mpsc::channel(1024);
                    let reader = BufReader::with_capacity(capacity, bytes.as_slice());
                    read_lines(reader, message_tx, reply_tx, max).await;
                    let mut messages = 0;
                    while message_rx.try_recv().is_ok() {
                        messages += 1;
                    }
                    let mut replies = Vec::new();
                    while let Ok((reply, _)) = reply_rx.try_recv() {
                        replies.push(reply);
                    }
                    (messages, replies)
                });
                let lines = bytes.split(|b| *b == b'\n').filter(|l| !l.trim_ascii().is_empty()).count();
                prop_assert!(messages + replies.len() <= lines, "{} + {} answers for {} lines", messages, replies.len(), lines);
                for reply in replies {
                    let reply: Value = serde_json::from_str(&reply).unwrap();
                    prop_assert!(reply["error"]["code"].is_i64(), "{}", reply);
                }
            }
        }
    }
}

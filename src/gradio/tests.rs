//! The Gradio client against a stub on loopback that replays the recorded
//! transcripts of tests/fixtures/wire. A stub, not a real app, because these
//! tests script faults a real app cannot be made to produce on demand: a
//! join that fails twice, a redeploy between two calls, a download cut short.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::{GradioError, Run, SpacePool, SpaceRef, Stage, Ticket};
use crate::fixtures::wire;

/// What the stub answers: status line, content type, body. A body of `None`
/// with a length announces that length and closes after half of it.
struct Answer {
    status: &'static str,
    content_type: &'static str,
    body: Vec<u8>,
    announce: Option<usize>,
}

fn ok(content_type: &'static str, body: impl Into<Vec<u8>>) -> Answer {
    Answer {
        status: "200 OK",
        content_type,
        body: body.into(),
        announce: None,
    }
}

fn status(status: &'static str) -> Answer {
    Answer {
        status,
        content_type: "text/plain",
        body: status.as_bytes().to_vec(),
        announce: None,
    }
}

type Route = Box<dyn Fn(&str, &str, usize) -> Answer + Send + Sync>;

/// A stub app; records each request as "METHOD path".
struct Stub {
    url: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Stub {
    async fn start(route: Route) -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let route = Arc::new(route);
        let log = seen.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let route = route.clone();
                let log = log.clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") {
                        if socket.read(&mut byte).await.unwrap_or(0) == 0 {
                            return;
                        }
                        head.push(byte[0]);
                    }
                    let head = String::from_utf8_lossy(&head).into_owned();
                    let mut words = head.split_whitespace();
                    let method = words.next().unwrap_or("").to_string();
                    let target = words.next().unwrap_or("").to_string();
                    let length: usize = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    let mut body = vec![0u8; length];
                    let _ = socket.read_exact(&mut body).await;
                    let path = target.split('?').next().unwrap_or("").to_string();
                    let count = {
                        let mut log = log.lock().unwrap();
                        log.push(format!("{method} {path}"));
                        log.iter()
                            .filter(|l| **l == format!("{method} {path}"))
                            .count()
                    };
                    let answer = route(&method, &path, count);
                    let announced = answer.announce.unwrap_or(answer.body.len());
                    let reply = format!(
                        "HTTP/1.1 {}\r\ncontent-type: {}\r\ncontent-length: {announced}\r\nconnection: close\r\n\r\n",
                        answer.status, answer.content_type
                    );
                    let _ = socket.write_all(reply.as_bytes()).await;
                    let _ = socket.write_all(&answer.body).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        Stub { url, seen }
    }

    fn seen(&self, request: &str) -> usize {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|l| *l == request)
            .count()
    }
}

/// The part of a transcript after its last `> GET` line: the event stream.
fn stream_of(name: &str) -> String {
    let text = wire(name);
    let (_, after) = text.rsplit_once("> GET ").unwrap();
    after
        .split_once('\n')
        .map(|(_, b)| b)
        .unwrap_or("")
        .to_string()
}

/// The SanaSprint-like app as recorded: its config, info and one event.
fn sana(method: &str, path: &str, count: usize, join: &dyn Fn(usize) -> Answer) -> Answer {
    match (method, path) {
        ("GET", "/config") => ok("application/json", wire("sanasprint-like.config.json")),
        ("GET", "/gradio_api/info") => ok("application/json", wire("sanasprint-like.info.json")),
        ("POST", "/gradio_api/queue/join") => join(count),
        ("GET", "/gradio_api/queue/data") => ok(
            "text/event-stream",
            stream_of("queue-progress-complete.txt"),
        ),
        _ => status("404 Not Found"),
    }
}

fn event_id() -> Answer {
    ok(
        "application/json",
        r#"{"event_id":"1c5edb173f2840e69710bf5bcd81af41"}"#,
    )
}

fn inputs() -> Vec<Value> {
    serde_json::from_str(r#"["a dog","0.6B",0,true,256,256,4.0,5]"#).unwrap()
}

/// One call of the recorded `/infer`, as the runner makes it: a slot first.
async fn infer(
    client: &super::SpaceClient,
    observe: super::Observer<'_>,
) -> Result<Vec<Value>, GradioError> {
    let slot = client.slot(&|_| {}, Ticket::NOW).await.unwrap();
    let run = Run {
        slot: &slot,
        token: None,
        idle: Duration::from_secs(5),
        observe,
    };
    client.run_endpoint(run, "/infer", inputs()).await
}

type Stages = Arc<Mutex<Vec<Stage>>>;

fn recorder() -> (Stages, impl Fn(Stage) + Send + Sync) {
    let stages: Stages = Arc::default();
    let sink = stages.clone();
    (stages, move |stage| sink.lock().unwrap().push(stage))
}

#[tokio::test]
async fn a_recorded_job_gives_its_outputs_and_progress() {
    let stub = Stub::start(Box::new(|m, p, n| sana(m, p, n, &|_| event_id()))).await;
    let pool = SpacePool::new(4);
    let client = pool.client(&SpaceRef::parse(&stub.url).unwrap()).unwrap();
    let (stages, observe) = recorder();
    let outputs = infer(&client, &observe).await.unwrap();
    assert!(outputs[0]["url"].as_str().unwrap().ends_with("image.webp"));
    assert_eq!(outputs[1], Value::from(1616603823u64));
    let seen = stages.lock().unwrap().clone();
    assert!(
        matches!(seen[0], Stage::Queued { rank: Some(0), .. }),
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .any(|s| matches!(s, Stage::Step(u) if u.describe() == "denoising: step 5 of 5"))
    );
    // The description is read once for both calls that follow.
    infer(&client, &observe).await.unwrap();
    assert_eq!(stub.seen("GET /config"), 1);
}

#[tokio::test(start_paused = false)]
async fn a_join_refused_with_503_is_retried_until_it_is_accepted() {
    let stub = Stub::start(Box::new(|m, p, n| {
        sana(m, p, n, &|count| {
            if count <= 2 {
                status("503 Service Unavailable")
            } else {
                event_id()
            }
        })
    }))
    .await;
    let pool = SpacePool::new(4);
    let client = pool.client(&SpaceRef::parse(&stub.url).unwrap()).unwrap();
    let (stages, observe) = recorder();
    let outputs = infer(&client, &observe).await.unwrap();
    assert_eq!(outputs.len(), 2);
    assert_eq!(stub.seen("POST /gradio_api/queue/join"), 3);
    assert_eq!(
        stages
            .lock()
            .unwrap()
            .iter()
            .filter(|s| matches!(s, Stage::Waking { .. }))
            .count(),
        2
    );
}

#[tokio::test]
async fn a_redeployed_space_is_read_again_and_the_job_sent_once_more() {
    // The first join is refused as Gradio refuses an unknown fn_index (500).
    let stub = Stub::start(Box::new(|m, p, n| {
        sana(m, p, n, &|count| {
            if count == 1 {
                status("500 Internal Server Error")
            } else {
                event_id()
            }
        })
    }))
    .await;
    let pool = SpacePool::new(4);
    let client = pool.client(&SpaceRef::parse(&stub.url).unwrap()).unwrap();
    let outputs = infer(&client, &|_| {}).await.unwrap();
    assert_eq!(outputs.len(), 2);
    assert_eq!(
        stub.seen("GET /config"),
        2,
        "the description was read again"
    );
    assert_eq!(stub.seen("POST /gradio_api/queue/join"), 2);
}

#[tokio::test]
async fn a_job_refused_twice_is_an_error_that_says_so() {
    let stub = Stub::start(Box::new(|m, p, n| {
        sana(m, p, n, &|_| status("500 Internal Server Error"))
    }))
    .await;
    let pool = SpacePool::new(4);
    let client = pool.client(&SpaceRef::parse(&stub.url).unwrap()).unwrap();
    let error = infer(&client, &|_| {}).await.unwrap_err();
    assert!(
        matches!(error, GradioError::EventRefused { status: 500, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_dropped_call_cancels_its_job_on_the_space() {
    // The data stream never completes: the call waits until it is dropped.
    let stub = Stub::start(Box::new(|m, p, n| match (m, p) {
        ("GET", "/gradio_api/queue/data") => Answer {
            status: "200 OK",
            content_type: "text/event-stream",
            body: b"data: {\"msg\":\"process_starts\",\"event_id\":\"1c5edb173f2840e69710bf5bcd81af41\"}\n\n".to_vec(),
            announce: Some(1 << 20),
        },
        ("POST", "/gradio_api/cancel") => ok("application/json", r#"{"success": true}"#),
        _ => sana(m, p, n, &|_| event_id()),
    }))
    .await;
    let pool = SpacePool::new(4);
    let client = pool.client(&SpaceRef::parse(&stub.url).unwrap()).unwrap();
    let (stages, observe) = recorder();
    let slot = client.slot(&observe, Ticket::NOW).await.unwrap();
    let run = Run {
        slot: &slot,
        token: None,
        idle: Duration::from_secs(30),
        observe: &observe,
    };
    let call = client.run_endpoint(run, "/infer", inputs());
    let _ = tokio::time::timeout(Duration::from_millis(500), call).await;
    assert!(
        stages
            .lock()
            .unwrap()
            .iter()
            .any(|s| matches!(s, Stage::Running { .. }))
    );
    pool.flush_cancels(Duration::from_secs(5)).await;
    assert_eq!(stub.seen("POST /gradio_api/cancel"), 1);
}

#[tokio::test]
async fn downloads_stay_under_their_cap_and_a_cut_one_fails() {
    let stub = Stub::start(Box::new(|m, p, n| match (m, p) {
        ("GET", "/gradio_api/file=small.bin") => ok("application/octet-stream", vec![7u8; 1000]),
        ("GET", "/gradio_api/file=cut.bin") => Answer {
            status: "200 OK",
            content_type: "application/octet-stream",
            body: vec![7u8; 500],
            announce: Some(1000),
        },
        _ => sana(m, p, n, &|_| event_id()),
    }))
    .await;
    let pool = SpacePool::new(4);
    let client = pool.client(&SpaceRef::parse(&stub.url).unwrap()).unwrap();
    let idle = Duration::from_secs(5);
    let small = format!("{}/gradio_api/file=small.bin", stub.url);
    let file = client.download(&small, 1000, None, idle).await.unwrap();
    assert_eq!(file.len(), 1000);
    let error = client.download(&small, 999, None, idle).await.unwrap_err();
    assert!(matches!(error, GradioError::TooLarge { .. }), "{error:?}");
    let cut = format!("{}/gradio_api/file=cut.bin", stub.url);
    let error = client.download(&cut, 10_000, None, idle).await.unwrap_err();
    assert!(
        matches!(error, GradioError::Unreachable { .. }),
        "{error:?}"
    );
    // Another origin is never fetched.
    let error = client
        .download("http://127.0.0.2:9/gradio_api/file=x", 10_000, None, idle)
        .await
        .unwrap_err();
    assert!(
        matches!(error, GradioError::ForeignFile { .. }),
        "{error:?}"
    );
}

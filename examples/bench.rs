//! The benchmark behind `scripts/bench.sh`: prints figures, asserts nothing.
//!
//! 1. Time from spawning `spaces-mcp` to its answer to tools/list (after
//!    initialize), as an MCP client sees it (rmcp's client over stdio).
//! 2. The server's resident memory right after that answer.
//! 3. The median latency of `generate_image` (512×512) through the server,
//!    against the same call made directly to the Gradio app (POST the job,
//!    read its event stream, download the image), and their ratio.
//! 4. 64 concurrent `generate_image` calls over Streamable HTTP (one session),
//!    against the same 64 calls made directly: throughput, p50 and p99.
//! 5. With `MANY_CONFIG` set (a config of many `[spaces]` tables): the time
//!    from spawning `spaces-mcp` on an empty cache to a first tools/list that
//!    holds every tool, and how many tools that is.
//! 6. The time to make the JPEG preview of a noisy 2048 px PNG (one core).
//! 7. With `BIG_CONFIG` set (a tool `big` returning a 2048 px PNG): the peak
//!    resident memory of `serve --transport http` over 8 such calls at once.
//!
//! Usage: bench BINARY CONFIG APP_URL [ROUNDS]

use std::time::{Duration, Instant};

use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, JsonObject};
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use serde_json::{Value, json};
use tokio::process::Command;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        return Err("usage: bench BINARY CONFIG APP_URL [ROUNDS]".into());
    }
    let (binary, config, app) = (&args[1], &args[2], args[3].trim_end_matches('/'));
    let rounds: usize = args.get(4).and_then(|r| r.parse().ok()).unwrap_or(30);

    // 1 and 2: start-up, with the built-in config as a user would run it.
    let mut startup = Vec::new();
    let mut rss = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        let mut command = Command::new(binary);
        command.arg("serve").env("RUST_LOG", "off");
        let transport = TokioChildProcess::new(command)?;
        let pid = transport.id();
        let client = ().serve(transport).await?;
        let tools = client.list_tools(None).await?;
        startup.push(started.elapsed());
        // The two tools, and await_job and cancel_job.
        assert_eq!(tools.tools.len(), 4);
        if let Some(pid) = pid {
            rss.push(resident_kib(pid).unwrap_or(0));
        }
        client.cancel().await?;
    }
    startup.sort();
    rss.sort();
    println!(
        "startup: spawn to tools/list answer: median {:.1} ms, min {:.1} ms, max {:.1} ms over {} runs (target <= 20 ms)",
        ms(startup[startup.len() / 2]),
        ms(startup[0]),
        ms(startup[startup.len() - 1]),
        startup.len()
    );
    if !rss.is_empty() {
        println!(
            "memory: resident after tools/list: median {:.1} MiB, max {:.1} MiB (target <= 15 MiB)",
            rss[rss.len() / 2] as f64 / 1024.0,
            rss[rss.len() - 1] as f64 / 1024.0
        );
    }

    // 3: generate_image through the server against the direct call.
    let mut command = Command::new(binary);
    command
        .args(["serve", "--config", config])
        .env("RUST_LOG", "off");
    let transport = TokioChildProcess::new(command)?;
    let pid = transport.id();
    let client = ().serve(transport).await?;
    let mut arguments = JsonObject::new();
    arguments.insert("prompt".into(), "a lighthouse at dusk".into());
    arguments.insert("width".into(), 512.into());
    arguments.insert("height".into(), 512.into());
    let request = CallToolRequestParams::new("generate_image").with_arguments(arguments);
    let http = reqwest::Client::new();
    let data = json!(["a lighthouse at dusk", "0.6B", 0, true, 512, 512, 4.0, 2]);

    // Warm both paths (the server learns the Space's API on its first call).
    for _ in 0..3 {
        client.call_tool(request.clone()).await?;
        direct_call(&http, app, &data).await?;
    }
    let mut through = Vec::with_capacity(rounds);
    let mut direct = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        // Interleaved, so drift on the machine affects both alike.
        let started = Instant::now();
        let result = client.call_tool(request.clone()).await?;
        through.push(started.elapsed());
        if result.is_error == Some(true) {
            return Err(format!("generate_image failed: {:?}", result.content).into());
        }
        let started = Instant::now();
        direct_call(&http, app, &data).await?;
        direct.push(started.elapsed());
    }
    through.sort();
    direct.sort();
    let (t, d) = (through[rounds / 2], direct[rounds / 2]);
    println!(
        "generate_image 512x512: median through spaces-mcp {:.1} ms, direct {:.1} ms, ratio {:.3} over {rounds} calls each (target <= 1.10)",
        ms(t),
        ms(d),
        t.as_secs_f64() / d.as_secs_f64()
    );
    if let Some(rss) = pid.and_then(resident_kib) {
        println!(
            "memory: resident after {} calls: {:.1} MiB",
            rounds + 3,
            rss as f64 / 1024.0
        );
    }
    client.cancel().await?;

    concurrent_over_http(binary, config, app, &http, &request, &data).await?;
    if let Ok(many) = std::env::var("MANY_CONFIG") {
        first_full_list(binary, &many).await?;
    }
    preview_time();
    if let Ok(big) = std::env::var("BIG_CONFIG") {
        big_results_memory(binary, &big, &http).await?;
    }
    Ok(())
}

/// Section 6: one preview of a noisy 2048 px PNG, as the budget pass makes it.
fn preview_time() {
    let mut seed = 7u32;
    let noisy = image::ImageBuffer::from_fn(2048, 2048, |_, _| {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
        image::Rgb([(seed >> 16) as u8, (seed >> 8) as u8, seed as u8])
    });
    let mut png = Vec::new();
    if noisy
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .is_err()
    {
        return;
    }
    let mut times = Vec::new();
    let mut len = 0;
    for _ in 0..7 {
        let started = Instant::now();
        len = spaces_mcp::bench_support::preview_len(&png, 1568, 1_000_000).unwrap_or(0);
        times.push(started.elapsed());
    }
    times.sort();
    println!(
        "preview of a 2048 px noisy PNG ({:.1} MB): median {:.0} ms, min {:.0} ms over {} runs, JPEG {:.0} kB (target <= 150 ms)",
        png.len() as f64 / 1e6,
        ms(times[times.len() / 2]),
        ms(times[0]),
        times.len(),
        len as f64 / 1e3
    );
}

/// Section 7: eight 2048 px PNG results at once, over Streamable HTTP.
async fn big_results_memory(
    binary: &str,
    config: &str,
    http: &reqwest::Client,
) -> Result<(), BoxError> {
    let (server, url) = http_server(binary, config, http).await?;
    let pid = server.id();
    let client = ().serve(StreamableHttpClientTransport::from_uri(url)).await?;
    let mut arguments = JsonObject::new();
    arguments.insert("side".into(), json!(2048));
    let request = CallToolRequestParams::new("big").with_arguments(arguments);
    let started = Instant::now();
    let calls = (0..8).map(|_| client.call_tool(request.clone()));
    let results = futures_util::future::join_all(calls).await;
    let elapsed = started.elapsed();
    let sizes: Vec<usize> = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|r| serde_json::to_vec(r).map(|v| v.len()).unwrap_or(0))
        .collect();
    let peak = pid.and_then(peak_kib);
    println!(
        "8 concurrent 2048 px PNG results: {} ok in {:.1} s, largest result {:.0} kB, server peak resident {:.1} MiB (target < 80 MiB)",
        sizes.len(),
        elapsed.as_secs_f64(),
        sizes.iter().max().copied().unwrap_or(0) as f64 / 1e3,
        peak.unwrap_or(0) as f64 / 1024.0
    );
    client.cancel().await?;
    Ok(())
}

/// `serve --transport http` on a free loopback port, once it answers: the
/// process (killed when dropped) and its `/mcp` URL.
async fn http_server(
    binary: &str,
    config: &str,
    http: &reqwest::Client,
) -> Result<(tokio::process::Child, String), BoxError> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let server = Command::new(binary)
        .args([
            "--config",
            config,
            "serve",
            "--transport",
            "http",
            "--listen",
        ])
        .arg(format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "off")
        .kill_on_drop(true)
        .spawn()?;
    for _ in 0..100 {
        if http
            .get(format!("http://127.0.0.1:{port}/health"))
            .send()
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok((server, format!("http://127.0.0.1:{port}/mcp")))
}

/// The peak resident memory of a process (Linux's VmHWM), in KiB.
fn peak_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Section 5: spawn to a complete first tools/list, every Space uncached.
async fn first_full_list(binary: &str, config: &str) -> Result<(), BoxError> {
    let mut times = Vec::new();
    let mut counts = Vec::new();
    for round in 0..5 {
        let cache = std::env::temp_dir().join(format!(
            "spaces-mcp-bench-cache-{}-{round}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&cache);
        let started = Instant::now();
        let mut command = Command::new(binary);
        command
            .args(["--config", config, "serve"])
            .env("RUST_LOG", "off")
            .env("SPACES_MCP_CACHE_DIR", &cache);
        let client = ().serve(TokioChildProcess::new(command)?).await?;
        let tools = client.list_tools(None).await?;
        times.push(started.elapsed());
        counts.push(tools.tools.len());
        client.cancel().await?;
        let _ = std::fs::remove_dir_all(&cache);
    }
    times.sort();
    println!(
        "first full tools/list, every Space uncached: median {:.0} ms, min {:.0} ms, max {:.0} ms over {} runs; {} tools listed (first run)",
        ms(times[times.len() / 2]),
        ms(times[0]),
        ms(times[times.len() - 1]),
        times.len(),
        counts[0]
    );
    Ok(())
}

/// Section 4: 64 calls at once, through `serve --transport http` and direct.
async fn concurrent_over_http(
    binary: &str,
    config: &str,
    app: &str,
    http: &reqwest::Client,
    request: &CallToolRequestParams,
    data: &Value,
) -> Result<(), BoxError> {
    const CALLS: usize = 64;
    let (mut server, url) = http_server(binary, config, http).await?;
    let client = ().serve(StreamableHttpClientTransport::from_uri(url)).await?;
    client.call_tool(request.clone()).await?;

    let started = Instant::now();
    let calls = (0..CALLS).map(|_| {
        let client = &client;
        async move {
            let t = Instant::now();
            let result = client.call_tool(request.clone()).await;
            (
                t.elapsed(),
                matches!(result, Ok(r) if r.is_error != Some(true)),
            )
        }
    });
    let through: Vec<(Duration, bool)> = futures_util::future::join_all(calls).await;
    let through_total = started.elapsed();

    let started = Instant::now();
    let calls = (0..CALLS).map(|_| async move {
        let t = Instant::now();
        let ok = direct_call(http, app, data).await.is_ok();
        (t.elapsed(), ok)
    });
    let direct: Vec<(Duration, bool)> = futures_util::future::join_all(calls).await;
    let direct_total = started.elapsed();

    for (name, results, total) in [
        (
            "through spaces-mcp over Streamable HTTP",
            through,
            through_total,
        ),
        ("direct to the Gradio app", direct, direct_total),
    ] {
        let ok = results.iter().filter(|(_, ok)| *ok).count();
        let mut times: Vec<Duration> = results.into_iter().map(|(t, _)| t).collect();
        times.sort();
        println!(
            "concurrent x{CALLS} {name}: {ok}/{CALLS} ok, {:.1} calls/s, p50 {:.0} ms, p99 {:.0} ms, total {:.2} s",
            CALLS as f64 / total.as_secs_f64(),
            ms(times[CALLS / 2]),
            ms(times[(CALLS * 99 / 100).min(CALLS - 1)]),
            total.as_secs_f64()
        );
    }
    client.cancel().await?;
    server.kill().await?;
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The call a minimal client makes: submit, follow the stream, fetch the file.
async fn direct_call(http: &reqwest::Client, app: &str, data: &Value) -> Result<(), BoxError> {
    let submit = http
        .post(format!("{app}/gradio_api/call/infer"))
        .header("content-type", "application/json")
        .body(json!({ "data": data }).to_string())
        .send()
        .await?
        .error_for_status()?
        .bytes()
        .await?;
    let submit: Value = serde_json::from_slice(&submit)?;
    let event_id = submit["event_id"].as_str().ok_or("no event id")?;
    let stream = http
        .get(format!("{app}/gradio_api/call/infer/{event_id}"))
        .send()
        .await?
        .text()
        .await?;
    let complete = stream
        .split("event: complete\ndata: ")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .ok_or("no complete event")?;
    let outputs: Value = serde_json::from_str(complete)?;
    let url = outputs[0]["url"].as_str().ok_or("no file url")?;
    let image = http
        .get(url)
        .send()
        .await?
        .error_for_status()?
        .bytes()
        .await?;
    if image.is_empty() {
        return Err("empty image".into());
    }
    Ok(())
}

/// Resident memory of a process in KiB (`ps` works on Linux and macOS).
fn resident_kib(pid: u32) -> Option<u64> {
    let out = std::process::Command::new("ps")
        .args(["-o", "rss=", "-p", &pid.to_string()])
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

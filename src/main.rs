//! The `spaces-mcp` command: parses the command line and wires the layers
//! together. Everything it does lives in the library's modules.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use rmcp::model::{ContentBlock, JsonObject};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use spaces_mcp::config::{Config, InputConfig, ValueKind};
use spaces_mcp::discovery;
use spaces_mcp::gradio::{GradioError, HfToken, SpacePool, SpaceRef, Stage};
use spaces_mcp::output::Features;
use spaces_mcp::runner::{CallOptions, Runner};
use spaces_mcp::server::http::{self, HttpOptions};
use spaces_mcp::server::{AccessPolicy, BearerToken, SpacesServer, stdio};
use spaces_mcp::tools::Registry;

/// Gradio apps and Hugging Face Spaces as MCP tools.
#[derive(Parser)]
#[command(name = "spaces-mcp", version, about, long_about = None)]
struct Cli {
    /// The tools' config (spaces.toml); without it, the built-in config is used.
    #[arg(
        long,
        short,
        global = true,
        env = "SPACES_MCP_CONFIG",
        value_name = "FILE"
    )]
    config: Option<PathBuf>,
    /// More logging on stderr (-v debug, -vv trace); RUST_LOG overrides it.
    #[arg(long, short, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve MCP over stdio (the default), or over HTTP with --transport http.
    Serve(ServeArgs),
    /// Print the tools with their schemas, as JSON.
    Tools,
    /// Run one tool once and print its result; files are saved and their paths printed.
    Call {
        /// The tool's name.
        tool: String,
        /// Arguments as key=value; values of non-string inputs are read as JSON.
        #[arg(value_name = "KEY=VALUE")]
        arguments: Vec<String>,
        /// Where to save file outputs (default: the config's output_dir).
        #[arg(long, value_name = "DIR")]
        output_dir: Option<PathBuf>,
    },
    /// Print a ready-to-paste spaces.toml section for each endpoint of a Space.
    Discover {
        /// A Space id (owner/name) or a Gradio app's URL.
        space: String,
    },
    /// Print a config entry for an MCP client.
    Config {
        #[arg(value_enum)]
        client: ClientKind,
    },
}

#[derive(clap::Args)]
struct ServeArgs {
    /// stdio for a client that spawns the server; http for clients that connect by URL.
    #[arg(long, value_enum, default_value_t = Transport::Stdio)]
    transport: Transport,
    /// The address to listen on (http). Loopback unless you mean otherwise.
    #[arg(long, default_value = "127.0.0.1:8000", value_name = "ADDR:PORT")]
    listen: SocketAddr,
    /// No sessions on /mcp, for deployments behind a load balancer (http).
    #[arg(long)]
    stateless: bool,
    /// A Host name (or name:port) to accept beside localhost; repeat for more (http).
    #[arg(long = "allowed-host", value_name = "HOST")]
    allowed_hosts: Vec<String>,
    /// A browser Origin to accept beside loopback ones, e.g. https://app.example.com or http://x.example:*; repeat for more (http).
    #[arg(long = "allowed-origin", value_name = "ORIGIN")]
    allowed_origins: Vec<String>,
    /// Require `Authorization: Bearer <token>`, the token read from this environment variable (http).
    #[arg(long, value_name = "NAME")]
    auth_token_env: Option<String>,
    /// Largest request body accepted, in bytes (http; larger: 413).
    #[arg(long, default_value_t = 1024 * 1024, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1024..=256 * 1024 * 1024))]
    max_body_bytes: u64,
    /// Most sessions open at once, Streamable HTTP and legacy SSE together (http; more: 503).
    #[arg(long, default_value_t = 256, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_sessions: u64,
    /// Seconds without a message before a session is dropped; never less than the longest tool timeout (http).
    #[arg(long, default_value_t = 300, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    session_idle_timeout: u64,
    /// Seconds calls in flight get to finish after SIGINT/SIGTERM before they are cancelled (http).
    #[arg(long, default_value_t = 30, value_name = "SECS", value_parser = clap::value_parser!(u64).range(0..=3_600))]
    shutdown_grace: u64,
    /// Seconds a client has to send a request's headers, and each piece of its body; slower connections are closed (http).
    #[arg(long, default_value_t = 10, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=600))]
    read_timeout: u64,
    /// Most connections served at once; more wait to be accepted (http).
    #[arg(long, default_value_t = 1024, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=65_536))]
    max_connections: u64,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Transport {
    Stdio,
    Http,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ClientKind {
    /// Claude Desktop's claude_desktop_config.json (Cursor's mcp.json takes the same entry).
    Claude,
}

/// Exit status for a config that does not load, as for a usage error.
const EXIT_CONFIG: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A server logs each call; the one-shot commands print their own results.
    let serving = matches!(cli.command, None | Some(Command::Serve(_)));
    init_logging(cli.verbose, serving);
    let config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("spaces-mcp: invalid config: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("spaces-mcp: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let Some(command) = cli.command else {
        return runtime.block_on(serve(config));
    };
    match command {
        Command::Serve(args) if args.transport == Transport::Http => {
            match http_options(args, &config) {
                Ok(options) => runtime.block_on(serve_http(config, options)),
                Err(message) => {
                    eprintln!("spaces-mcp: {message}");
                    ExitCode::from(EXIT_CONFIG)
                }
            }
        }
        Command::Serve(_) => runtime.block_on(serve(config)),
        Command::Tools => runtime.block_on(print_tools(&config)),
        Command::Call {
            tool,
            arguments,
            output_dir,
        } => runtime.block_on(call(config, &tool, &arguments, output_dir)),
        Command::Config {
            client: ClientKind::Claude,
        } => print_client_config(cli.config.as_deref()),
        Command::Discover { space } => runtime.block_on(discover(&space)),
    }
}

fn init_logging(verbose: u8, serving: bool) {
    let default = match verbose {
        0 if serving => "spaces_mcp=info,warn",
        0 => "error",
        1 => "spaces_mcp=debug,info",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Logs go to stderr only: in stdio mode stdout is the protocol.
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

fn runner(config: &Config) -> Arc<Runner> {
    Arc::new(Runner::new(
        Registry::new(config),
        config.settings.clone(),
        HfToken::from_env(),
    ))
}

async fn serve(config: Config) -> ExitCode {
    tracing::info!(config = %config.origin, tools = config.tools.len(), "serving MCP over stdio");
    let (_, server) = serving(&config);
    match stdio::serve(server).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("spaces-mcp: {e}");
            ExitCode::FAILURE
        }
    }
}

fn http_options(args: ServeArgs, config: &Config) -> Result<HttpOptions, String> {
    let bearer_token = match &args.auth_token_env {
        None => None,
        Some(name) => match std::env::var(name) {
            Ok(token) if !token.trim().is_empty() => {
                Some(BearerToken::new(token.trim().to_string()))
            }
            _ => {
                return Err(format!(
                    "--auth-token-env {name}: the environment variable {name} is not set or empty; set it to the token clients must send"
                ));
            }
        },
    };
    Ok(HttpOptions {
        listen: args.listen,
        stateless: args.stateless,
        access: AccessPolicy {
            allowed_hosts: args.allowed_hosts,
            allowed_origins: args.allowed_origins,
            bearer_token,
        },
        max_body_bytes: usize::try_from(args.max_body_bytes).unwrap_or(usize::MAX),
        max_sessions: usize::try_from(args.max_sessions).unwrap_or(usize::MAX),
        session_idle: Duration::from_secs(args.session_idle_timeout),
        longest_call: config.longest_timeout(),
        shutdown_grace: Duration::from_secs(args.shutdown_grace),
        read_timeout: Duration::from_secs(args.read_timeout),
        max_connections: usize::try_from(args.max_connections).unwrap_or(usize::MAX),
    })
}

async fn serve_http(config: Config, options: HttpOptions) -> ExitCode {
    let (runner, server) = serving(&config);
    match http::serve(server, runner, options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("spaces-mcp: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn discover(space: &str) -> ExitCode {
    let space_ref = match SpaceRef::parse(space) {
        Ok(space_ref) => space_ref,
        Err(e) => {
            eprintln!("spaces-mcp: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let token = HfToken::from_env().filter(|_| space_ref.is_hub());
    let pool = SpacePool::new(1);
    let info = async {
        let client = pool.client(&space_ref)?;
        let observe = |stage: Stage| tracing::info!("{stage:?}");
        let work = async { client.api_info(token.as_ref(), &observe).await };
        tokio::time::timeout(Duration::from_secs(120), work)
            .await
            .unwrap_or_else(|_| Err(GradioError::Idle(Duration::from_secs(120))))
    };
    match info.await {
        Ok(info) => {
            print!("{}", spaces_mcp::discover::sections(space.trim(), &info));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("spaces-mcp: cannot read the API of {space}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The runner and the MCP handler, with the Spaces of discovered tools
/// being read in the background.
fn serving(config: &Config) -> (Arc<Runner>, SpacesServer) {
    let runner = runner(config);
    let server = SpacesServer::new(runner.clone());
    runner.set_on_change(server.on_tools_changed());
    discovery::start(runner.clone(), config, server.on_tools_changed());
    (runner, server)
}

/// Prints the tools, reading first the Spaces of tools that list no inputs.
async fn print_tools(config: &Config) -> ExitCode {
    let runner = runner(config);
    discovery::discover_now(&runner, config).await;
    print_json(&json!({ "tools": runner.registry().definitions() }))
}

fn print_json(value: &Value) -> ExitCode {
    let text = serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("\"{e}\""));
    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "{text}").is_err() {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

async fn call(
    mut config: Config,
    tool: &str,
    arguments: &[String],
    output_dir: Option<PathBuf>,
) -> ExitCode {
    if let Some(dir) = output_dir {
        config.settings.output_dir = dir;
        config.settings.private_output_dir = false;
    }
    let arguments = match parse_arguments(&config, tool, arguments) {
        Ok(arguments) => arguments,
        Err(message) => {
            eprintln!("spaces-mcp: {message}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let runner = runner(&config);
    let cancel = CancellationToken::new();
    let on_interrupt = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_interrupt.cancel();
        }
    });
    let options = CallOptions {
        features: Features::ALL,
        save_all: true,
        cancel,
        client_token: None,
        progress: Some(Arc::new(|_, _, message: String| eprintln!("… {message}"))),
    };
    let outcome = match runner.call(tool, Some(&arguments), options).await {
        Ok(outcome) => outcome,
        Err(e) => {
            eprintln!("spaces-mcp: {e}");
            return ExitCode::FAILURE;
        }
    };
    let failed = outcome.result.is_error == Some(true);
    for block in &outcome.result.content {
        if let ContentBlock::Text(text) = block {
            if failed {
                eprintln!("{}", text.text);
            } else {
                println!("{}", text.text);
            }
        }
    }
    if failed {
        return ExitCode::FAILURE;
    }
    if let Some(structured) = &outcome.result.structured_content {
        return print_json(structured);
    }
    ExitCode::SUCCESS
}

/// Reads `key=value` words; a value is taken as a string for string inputs and
/// as JSON otherwise (`width=512`, `flag=true`).
fn parse_arguments(config: &Config, tool: &str, words: &[String]) -> Result<JsonObject, String> {
    let inputs = config
        .tools
        .iter()
        .find(|t| t.name == tool)
        .map(|t| &t.inputs);
    let mut arguments = JsonObject::new();
    for word in words {
        let (key, raw) = word
            .split_once('=')
            .ok_or_else(|| format!("argument {word:?} is not of the form key=value"))?;
        let is_string = match inputs.and_then(|i| i.get(key)) {
            Some(InputConfig::Exposed(input)) => input.kind == ValueKind::String,
            _ => false,
        };
        let value = if is_string {
            Value::String(raw.to_string())
        } else {
            serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_string()))
        };
        arguments.insert(key.to_string(), value);
    }
    Ok(arguments)
}

fn print_client_config(config: Option<&Path>) -> ExitCode {
    let exe = match std::env::current_exe().and_then(|p| p.canonicalize().or(Ok(p))) {
        Ok(exe) => exe,
        Err(e) => {
            eprintln!("spaces-mcp: cannot find this program's own path: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut args = vec![Value::from("serve")];
    if let Some(config) = config {
        let absolute = std::path::absolute(config).unwrap_or_else(|_| config.to_path_buf());
        args.push("--config".into());
        args.push(absolute.display().to_string().into());
    }
    let entry = json!({ "mcpServers": { "spaces": { "command": exe.display().to_string(), "args": args } } });
    eprintln!(
        "Add this to claude_desktop_config.json (Cursor: ~/.cursor/mcp.json). For private Spaces or your own \
         ZeroGPU quota, add \"env\": {{\"HF_TOKEN\": \"hf_...\"}} to the entry."
    );
    print_json(&entry)
}

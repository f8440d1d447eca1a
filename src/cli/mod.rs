//! The command line: what each subcommand takes (clap), and one place that
//! turns a subcommand's failure into a message on stderr and an exit status
//! (2 for a usage or config problem, 1 for a call or server that failed).
//! Each subcommand lives in its own file; `main.rs` only hands over the
//! parsed arguments.

mod call;
mod client_config;
mod discover;
mod progress_line;
mod serve;
mod tools;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use client_config::ClientKind;

use crate::call::Runner;
use crate::config::{Config, ConfigError};
use crate::discovery::Discovery;
use crate::fleet::Fleet;
use crate::fleet::slots::FleetSlots;
use crate::gradio::{HfToken, SpacePool};
use crate::tools::Registry;

/// Gradio apps and Hugging Face Spaces as MCP tools.
#[derive(Parser)]
#[command(name = "spaces-mcp", version, about, long_about = None)]
pub struct Cli {
    /// The tools' config (spaces.toml); without it, the built-in config is used.
    #[arg(
        long,
        short,
        global = true,
        env = "SPACES_MCP_CONFIG",
        value_name = "FILE",
        // An installer may leave the variable empty: that is no config file.
        value_parser = clap::builder::OsStringValueParser::new()
    )]
    config: Option<std::ffi::OsString>,
    /// More logging on stderr (-v debug, -vv trace); RUST_LOG overrides it.
    #[arg(long, short, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// How log lines on stderr are written: text for people, json (one object a line) for log collectors.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "SPACES_MCP_LOG_FORMAT")]
    log_format: LogFormat,
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
        /// Progress as plain lines, not one live line (off a terminal it always is).
        #[arg(long, short)]
        quiet: bool,
    },
    /// Print a ready-to-paste spaces.toml section for each endpoint of a Space.
    Discover {
        /// A Space id (owner/name) or a Gradio app's URL.
        space: String,
        /// Log in to an app launched with `auth=...` as this user (the password from --password-env or --password-file).
        #[arg(long, value_name = "NAME", requires = "password")]
        user: Option<String>,
        /// The environment variable holding the login's password.
        #[arg(long, value_name = "NAME", group = "password")]
        password_env: Option<String>,
        /// The file holding the login's password.
        #[arg(long, value_name = "FILE", group = "password")]
        password_file: Option<PathBuf>,
    },
    /// Print the entry an MCP client needs to start this server (or, for Claude Desktop, install it).
    Config {
        #[arg(value_enum)]
        client: ClientKind,
        /// Merge the entry into Claude Desktop's own config file for this OS (a backup is kept).
        #[arg(long)]
        install: bool,
    },
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), for `man`.
    Man,
    /// Check a running HTTP server's /health; exit 0 when it answers (for container health checks).
    Health {
        /// The server's health URL.
        #[arg(default_value = "http://127.0.0.1:8000/health")]
        url: String,
    },
}

#[derive(clap::Args)]
struct ServeArgs {
    /// stdio for a client that spawns the server; http for clients that connect by URL.
    #[arg(long, value_enum, default_value_t = Transport::Stdio, env = "SPACES_MCP_TRANSPORT")]
    transport: Transport,
    /// The address to listen on (http). Loopback unless you mean otherwise.
    #[arg(
        long,
        default_value = "127.0.0.1:8000",
        value_name = "ADDR:PORT",
        env = "SPACES_MCP_LISTEN"
    )]
    listen: SocketAddr,
    /// No sessions on /mcp, for deployments behind a load balancer (http).
    #[arg(long)]
    stateless: bool,
    /// A Host name (or name:port) to accept beside localhost; repeat for more (http).
    #[arg(
        long = "allowed-host",
        value_name = "HOST",
        env = "SPACES_MCP_ALLOWED_HOSTS",
        value_delimiter = ','
    )]
    allowed_hosts: Vec<String>,
    /// A browser Origin to accept beside loopback ones, e.g. https://app.example.com or http://x.example:*; repeat for more (http).
    #[arg(long = "allowed-origin", value_name = "ORIGIN")]
    allowed_origins: Vec<String>,
    /// Require `Authorization: Bearer <token>`, the token read from this environment variable (http).
    #[arg(long, value_name = "NAME", conflicts_with = "auth_token_file")]
    auth_token_env: Option<String>,
    /// Require `Authorization: Bearer <token>`, the token read from this file (http; a container secret).
    #[arg(long, value_name = "FILE", env = "SPACES_MCP_AUTH_TOKEN_FILE")]
    auth_token_file: Option<PathBuf>,
    /// Largest request body accepted, in bytes (http; larger: 413).
    #[arg(long, default_value_t = 1024 * 1024, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1024..=256 * 1024 * 1024))]
    max_body_bytes: u64,
    /// Largest message read from stdin, in bytes (stdio; larger: -32600, and the server reads on).
    #[arg(long, default_value_t = 8 * 1024 * 1024, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(4096..=256 * 1024 * 1024))]
    max_message_bytes: u64,
    /// Most sessions open at once, Streamable HTTP and legacy SSE together (http; more: 503).
    #[arg(long, default_value_t = 256, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_sessions: u64,
    /// Most sessions one caller (one bearer/HF token pair; callers without any share one) may hold open (http; more: 429).
    #[arg(long, default_value_t = 64, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_sessions_per_client: u64,
    /// Seconds without a request from its client (and no call of it running) before a session is closed (http).
    #[arg(long, default_value_t = 300, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    session_idle_timeout: u64,
    /// Seconds calls in flight get to finish after SIGINT/SIGTERM before they are cancelled (http).
    #[arg(long, default_value_t = 30, value_name = "SECS", value_parser = clap::value_parser!(u64).range(0..=3_600))]
    shutdown_grace: u64,
    /// Seconds a client has to send a request's headers, and its whole body; slower or idle connections are closed (http).
    #[arg(long, default_value_t = 10, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=600))]
    read_timeout: u64,
    /// Most connections served at once; more wait to be accepted (http).
    #[arg(long, default_value_t = 1024, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=65_536))]
    max_connections: u64,
    /// A Valkey/Redis that replicas share (redis://host:6379, rediss:// for TLS): jobs, call slots and Space descriptions live there; overrides `store` in spaces.toml. A password may come from SPACES_MCP_STORE_PASSWORD.
    #[arg(long, value_name = "URL", env = "SPACES_MCP_STORE")]
    store: Option<String>,
    /// What every client's results hold: rich (images and audio inline), images (audio linked), text (media as links and saved paths), or auto (by client; the default); overrides `content` in spaces.toml and SPACES_MCP_CONTENT.
    #[arg(long, value_name = "PROFILE")]
    content: Option<String>,
    /// The CA certificate (PEM file) that signed a rediss:// store's certificate, when it is a private CA; overrides `store_ca`.
    #[arg(long, value_name = "FILE", env = "SPACES_MCP_STORE_CA")]
    store_ca: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Transport {
    Stdio,
    Http,
}

/// Why a subcommand failed; the one mapping to an exit status.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    #[error("invalid config: {0}")]
    Config(#[from] ConfigError),
    /// The command line or an argument is wrong: exit 2, as clap does.
    #[error("{0}")]
    Usage(String),
    /// The work itself failed: exit 1.
    #[error("{0}")]
    Failed(String),
}

impl CliError {
    fn exit_code(&self) -> ExitCode {
        match self {
            CliError::Config(_) | CliError::Usage(_) => ExitCode::from(2),
            CliError::Failed(_) => ExitCode::FAILURE,
        }
    }
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> ExitCode {
    crate::alloc::tune();
    // A server logs each call; the one-shot commands print their own results.
    let serving = matches!(cli.command, None | Some(Command::Serve(_)));
    init_logging(cli.verbose, serving, cli.log_format);
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("spaces-mcp: {e}");
            e.exit_code()
        }
    }
}

fn dispatch(cli: Cli) -> Result<ExitCode, CliError> {
    let config_path = cli
        .config
        .as_ref()
        .filter(|p| !p.is_empty())
        .map(PathBuf::from);
    if let Some(answered) = without_config(cli.command.as_ref(), config_path.as_deref()) {
        return answered;
    }
    let mut config = Config::load(config_path.as_deref())?;
    if let Some(Command::Serve(args)) = &cli.command {
        serve_overrides(&mut config, args)?;
    }
    let runtime = runtime()?;
    let outcome = match cli.command {
        None => runtime.block_on(serve::stdio(
            config,
            crate::server::stdio::DEFAULT_MAX_MESSAGE_BYTES,
        )),
        Some(Command::Serve(args)) if args.transport == Transport::Http => {
            let options = serve::http_options(args, &config)?;
            runtime.block_on(serve::http(config, options))
        }
        Some(Command::Serve(args)) => runtime.block_on(serve::stdio(
            config,
            usize::try_from(args.max_message_bytes).unwrap_or(usize::MAX),
        )),
        Some(Command::Tools) => runtime.block_on(tools::run(&config)),
        Some(Command::Call {
            tool,
            arguments,
            output_dir,
            quiet,
        }) => runtime.block_on(call::run(config, &tool, &arguments, output_dir, quiet)),
        Some(Command::Discover {
            space,
            user,
            password_env,
            password_file,
        }) => {
            let login = user.map(|username| crate::gradio::Login {
                username,
                password: match (password_env, password_file) {
                    (Some(name), _) => crate::gradio::PasswordSource::Env(name),
                    (None, Some(path)) => crate::gradio::PasswordSource::File(path),
                    (None, None) => crate::gradio::PasswordSource::Env(String::new()),
                },
            });
            runtime.block_on(discover::run(&space, login))
        }
        // Answered before the config was read.
        Some(
            Command::Config { .. }
            | Command::Completions { .. }
            | Command::Man
            | Command::Health { .. },
        ) => Ok(ExitCode::SUCCESS),
    };
    // Everything that matters has finished. A read of stdin still blocked on
    // its thread (a stdio server asked to stop by a signal) must not hold
    // the process open: the runtime is not waited for.
    runtime.shutdown_background();
    outcome
}

/// The subcommands that need no config, answered; `None` for the others.
fn without_config(
    command: Option<&Command>,
    config_path: Option<&std::path::Path>,
) -> Option<Result<ExitCode, CliError>> {
    Some(match command? {
        Command::Config { client, install } => client_config::run(*client, config_path, *install),
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(*shell, &mut command, "spaces-mcp", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Man => {
            let command = <Cli as clap::CommandFactory>::command();
            match clap_mangen::Man::new(command).render(&mut std::io::stdout()) {
                // A reader that stopped early (`| head`) is not a failure.
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(CliError::Failed(
                    format!("cannot write the manual page: {e}"),
                )),
                _ => Ok(ExitCode::SUCCESS),
            }
        }
        // A probe: it must not fail on the server's config.
        Command::Health { url } => runtime().and_then(|r| r.block_on(health(url))),
        _ => return None,
    })
}

/// What `serve`'s flags say over the config file.
fn serve_overrides(config: &mut Config, args: &ServeArgs) -> Result<(), CliError> {
    if let Some(store) = &args.store {
        config.settings.store = Some(store.clone()).filter(|s| !s.trim().is_empty());
    }
    if let Some(ca) = &args.store_ca {
        config.settings.store_ca = Some(ca.clone()).filter(|c| !c.as_os_str().is_empty());
    }
    if let Some(content) = &args.content {
        config.set_content(content, "--content")?;
    }
    Ok(())
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::Failed(format!("cannot start the async runtime: {e}")))
}

/// `spaces-mcp health`: whether a server answers on its health URL.
async fn health(url: &str) -> Result<ExitCode, CliError> {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .build()
        .map_err(|e| CliError::Failed(e.to_string()))?;
    match client.get(url).send().await {
        Ok(response) if response.status().is_success() => {
            println!("ok: {url} answered {}", response.status());
            Ok(ExitCode::SUCCESS)
        }
        Ok(response) => Err(CliError::Failed(format!(
            "{url} answered {}",
            response.status()
        ))),
        Err(e) => Err(CliError::Failed(format!("{url} did not answer: {e}"))),
    }
}

fn init_logging(verbose: u8, serving: bool, format: LogFormat) {
    let default = match verbose {
        0 if serving => "spaces_mcp=info,warn",
        0 => "error",
        1 => "spaces_mcp=debug,info",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Logs go to stderr only: in stdio mode stdout is the protocol.
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => logs
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        LogFormat::Json => logs
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .init(),
    }
}

/// Who may call: one client (stdio, the command line) or many (HTTP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Callers {
    One,
    Many,
}

/// What serving and calling need, built once from the config: the registry,
/// one client per Space, the runner, and discovery over the same two.
pub(crate) struct Engine {
    pub(crate) runner: Arc<Runner>,
    pub(crate) discovery: Discovery,
}

impl Engine {
    pub(crate) fn new(config: &Config) -> Engine {
        Engine::shared(config, None, Callers::One)
    }

    /// The engine of one replica of a fleet: call slots and Space
    /// descriptions shared through `fleet`. With many `callers`, each holds
    /// at most `slots_per_caller` of a Space's slots.
    pub(crate) fn shared(config: &Config, fleet: Option<Arc<Fleet>>, callers: Callers) -> Engine {
        let registry = Arc::new(Registry::new(config));
        let line = fleet
            .clone()
            .map(|f| FleetSlots::new(f) as Arc<dyn crate::gradio::SharedSlots>);
        let limits = crate::gradio::SlotLimits {
            per_space: config.settings.space_concurrency,
            per_caller: match callers {
                Callers::One => None,
                Callers::Many => Some(config.settings.slots_per_caller),
            },
        };
        let pool = Arc::new(SpacePool::with_shared(limits, line));
        for (space, login) in &config.logins {
            pool.set_login(space, login.clone());
        }
        let token = HfToken::from_env();
        let runner = Arc::new(Runner::new(
            registry.clone(),
            pool.clone(),
            config.settings.clone(),
            token.clone(),
        ));
        Engine {
            runner,
            discovery: Discovery {
                registry,
                pool,
                token,
                fleet,
            },
        }
    }
}

/// Prints JSON on stdout.
pub(crate) fn print_json(value: &serde_json::Value) -> Result<ExitCode, CliError> {
    use std::io::Write;
    let text = serde_json::to_string_pretty(value).map_err(|e| CliError::Failed(e.to_string()))?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{text}")
        .map_err(|e| CliError::Failed(format!("cannot write to stdout: {e}")))?;
    Ok(ExitCode::SUCCESS)
}

//! `spaces-mcp serve`: MCP over stdio (the default), or over HTTP.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use super::{Callers, CliError, Engine, ServeArgs};
use crate::call::background::{BackgroundCalls, JobLimits};
use crate::config::Config;
use crate::fleet::job_store::RedisJobStore;
use crate::fleet::{Fleet, StoreUrl};
use crate::jobs::memory::{MemoryStore, StoreLimits};
use crate::jobs::{JobStore, Owner};
use crate::server::http::{self, HttpOptions};
use crate::server::{AccessPolicy, BearerToken, SpacesServer, stdio};

/// Where a store password may come from, so it stays out of the command
/// line and the config file.
const STORE_PASSWORD_ENV: &str = "SPACES_MCP_STORE_PASSWORD";

/// The MCP handler over fresh services, with the Spaces of tools whose
/// inputs come from them being read in the background. With a shared store
/// (`--store`), this process is one replica of a fleet: jobs, call slots and
/// Space descriptions live in the store.
async fn serving(config: &Config, callers: Callers) -> Result<SpacesServer, CliError> {
    let fleet = match &config.settings.store {
        None => None,
        Some(address) => Some(join_fleet(config, address).await?),
    };
    let services = Engine::shared(config, fleet.clone(), callers);
    let jobs = config.settings.jobs;
    let store: Arc<dyn JobStore> = match &fleet {
        Some(fleet) => RedisJobStore::new(fleet.clone()),
        None => Arc::new(MemoryStore::new(StoreLimits {
            max_results: jobs.max_results,
            max_bytes: usize::try_from(jobs.max_bytes).unwrap_or(usize::MAX),
        })),
    };
    let limits = JobLimits {
        per_owner: jobs.max_per_owner,
        total: jobs.max_running,
    };
    let background = BackgroundCalls::new(services.runner.clone(), store, jobs.ttl, limits);
    let server = SpacesServer::new(background, fleet);
    services.discovery.start(config);
    // Saved files past their retention or over the cap go at start, then hourly.
    let runner = services.runner.clone();
    tokio::spawn(async move {
        let mut hourly = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            hourly.tick().await;
            let sweeping = runner.clone();
            let _ = tokio::task::spawn_blocking(move || sweeping.tidy_outputs()).await;
        }
    });
    give_back_memory_when_idle(&server);
    Ok(server)
}

/// How long the server must have been quiet (no request, no call) before
/// the memory its last work freed goes back to the system.
const IDLE_BEFORE_GIVING_BACK: std::time::Duration = std::time::Duration::from_secs(2);

/// Gives freed memory back once requests have stopped coming and no call
/// runs: once per quiet spell, so a busy server never pays for it.
fn give_back_memory_when_idle(server: &SpacesServer) {
    let arrivals = server.arrivals().clone();
    let runner = server.runner().clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(IDLE_BEFORE_GIVING_BACK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let (mut seen, mut given_back_at) = (arrivals.count(), arrivals.count());
        loop {
            tick.tick().await;
            let now = arrivals.count();
            if now == seen && now != given_back_at && runner.in_flight() == 0 {
                let _ = tokio::task::spawn_blocking(crate::alloc::give_back).await;
                tracing::debug!("idle: freed memory given back to the system");
                given_back_at = now;
            }
            seen = now;
        }
    });
}

/// Connects to the fleet's store, and checks that saved files are where
/// every replica can read them (a `resource_link` may be read through any
/// replica).
async fn join_fleet(config: &Config, address: &str) -> Result<Arc<Fleet>, CliError> {
    let password = std::env::var(STORE_PASSWORD_ENV).ok();
    let ca = config.settings.store_ca.as_deref();
    let url = StoreUrl::parse(address, password, ca).map_err(|e| CliError::Usage(e.to_string()))?;
    if config.settings.private_output_dir {
        return Err(CliError::Usage(format!(
            "--store {}: replicas serve each other's saved files (resources/read), but output_dir is this machine's private default; set output_dir in spaces.toml (or SPACES_MCP_OUTPUT_DIR) to a folder on a volume every replica mounts",
            url.shown()
        )));
    }
    let settings = &config.settings;
    let fleet = Fleet::connect(&url, &settings.store_prefix, settings.store_lease)
        .await
        .map_err(|e| CliError::Failed(e.to_string()))?;
    fleet
        .check_shared_dir(&settings.output_dir)
        .await
        .map_err(|e| CliError::Usage(e.to_string()))?;
    Ok(fleet)
}

pub(super) async fn stdio(config: Config, max_message_bytes: usize) -> Result<ExitCode, CliError> {
    tracing::info!(config = %config.origin, tools = config.tools.len(), "serving MCP over stdio");
    stdio::serve(serving(&config, Callers::One).await?, max_message_bytes)
        .await
        .map_err(|e| CliError::Failed(e.to_string()))?;
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn http(config: Config, options: HttpOptions) -> Result<ExitCode, CliError> {
    let server = serving(&config, Callers::Many).await?;
    let runner = server.runner().clone();
    // Over HTTP, owners are digests of credentials: salted with a secret
    // kept beside the saved files (a fleet's shared folder), never in the store.
    let salt = tokio::task::spawn_blocking({
        let runner = runner.clone();
        move || runner.owner_salt()
    })
    .await
    .map_err(|e| CliError::Failed(e.to_string()))?
    .map_err(|e| {
        CliError::Usage(format!(
            "cannot keep the owner secret at {}: {} (set output_dir in spaces.toml to a folder this user can write)",
            e.path.display(),
            e.source
        ))
    })?;
    Owner::salt_with(salt);
    http::serve(server, runner, options)
        .await
        .map_err(|e| CliError::Failed(e.to_string()))?;
    Ok(ExitCode::SUCCESS)
}

pub(super) fn http_options(args: ServeArgs, config: &Config) -> Result<HttpOptions, CliError> {
    let bearer_token = match (&args.auth_token_env, &args.auth_token_file) {
        (None, None) => None,
        (_, Some(path)) => match std::fs::read_to_string(path) {
            Ok(token) if !token.trim().is_empty() => {
                Some(BearerToken::new(token.trim().to_string()))
            }
            Ok(_) => {
                return Err(CliError::Usage(format!(
                    "--auth-token-file {}: the file is empty; put the token clients must send in it",
                    path.display()
                )));
            }
            Err(e) => {
                return Err(CliError::Usage(format!(
                    "--auth-token-file {}: cannot read it: {e}",
                    path.display()
                )));
            }
        },
        (Some(name), None) => match std::env::var(name) {
            Ok(token) if !token.trim().is_empty() => {
                Some(BearerToken::new(token.trim().to_string()))
            }
            _ => {
                return Err(CliError::Usage(format!(
                    "--auth-token-env {name}: the environment variable {name} is not set or empty; set it to the token clients must send"
                )));
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
        max_sessions_per_owner: usize::try_from(args.max_sessions_per_client).unwrap_or(usize::MAX),
        session_idle: Duration::from_secs(args.session_idle_timeout),
        longest_call: config.longest_timeout(),
        shutdown_grace: Duration::from_secs(args.shutdown_grace),
        read_timeout: Duration::from_secs(args.read_timeout),
        max_connections: usize::try_from(args.max_connections).unwrap_or(usize::MAX),
    })
}

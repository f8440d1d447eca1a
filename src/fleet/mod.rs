//! State shared by a fleet of replicas, in Valkey or Redis.
//!
//! One process needs none of this: the embedded job store and the in-process
//! call slots serve it. Several replicas behind a load balancer share what
//! must not be per process: jobs ([`job_store::RedisJobStore`]), each Space's
//! call slots ([`slots::FleetSlots`]), and small records the layers above
//! keep there ([`Fleet::get`]: what each Space said about itself, older
//! clients' sessions). Anything a replica must hear at once (a
//! job changed, a cancel, a slot freed) goes out on pub/sub; anything that
//! must survive a replica's death has a lease, renewed while the replica
//! lives, so that a SIGKILL never leaves a job `working` or a slot taken.
//!
//! This layer sits at the bottom beside `gradio` and `jobs`: it knows the
//! job store's trait and nothing of MCP.

pub(crate) mod job_store;
pub(crate) mod slots;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::broadcast;
use url::Url;

/// How long a store command may take before the call fails with a clear error
/// (a Redis that is restarting should not hang a tool call).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(3);

/// Why the shared store could not serve.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FleetError {
    #[error(
        "store address {0} (--store, or store in spaces.toml): not a Valkey/Redis address; use redis://host:6379 (or rediss:// for TLS)"
    )]
    BadUrl(String),
    #[error("the store's CA certificate (--store-ca, or store_ca in spaces.toml): {0}")]
    Ca(String),
    /// Wrong or missing credentials.
    #[error(
        "the shared store at {store} refused this replica: {reason}; check the password (SPACES_MCP_STORE_PASSWORD, or in the URL) and the user name"
    )]
    Refused { store: String, reason: String },
    #[error(
        "output_dir {dir} is not the folder the fleet's other replicas use ({reason}); every replica must mount the same volume there, so that any replica can serve a saved file. If the whole fleet moved to a new folder, delete the store key {key}"
    )]
    NotShared {
        dir: String,
        reason: String,
        key: String,
    },
    #[error(
        "the shared store at {store} is unreachable: {reason}; check that Valkey/Redis is running there{}",
        if *.tls { " and that this replica trusts its TLS certificate (a private CA's is given with --store-ca)" } else { "" }
    )]
    Unreachable {
        store: String,
        reason: String,
        /// A `rediss://` store: its certificate may be the trouble.
        tls: bool,
    },
}

/// A store address as given, with any password kept out of everything
/// that prints it.
#[derive(Clone)]
pub(crate) struct StoreUrl {
    url: Url,
    /// The PEM certificate of the CA that signed the store's TLS
    /// certificate, when that is not a public one (`rediss://` only).
    ca: Option<Vec<u8>>,
}

impl StoreUrl {
    /// Parses `redis://…` or `rediss://…`; a password may come from the
    /// environment instead of the URL (so that it stays out of process
    /// listings and config files); `ca` is the PEM file of the CA
    /// certificate that `rediss://` trusts (a store behind a private CA).
    pub(crate) fn parse(
        text: &str,
        password: Option<String>,
        ca: Option<&Path>,
    ) -> Result<StoreUrl, FleetError> {
        let mut url = Url::parse(text.trim()).map_err(|_| FleetError::BadUrl(redact(text)))?;
        if !matches!(url.scheme(), "redis" | "rediss") || url.host_str().is_none() {
            return Err(FleetError::BadUrl(redact(text)));
        }
        if url.password().is_none()
            && let Some(password) = password.filter(|p| !p.is_empty())
        {
            url.set_password(Some(&password))
                .map_err(|_| FleetError::BadUrl(redact(text)))?;
        }
        let ca = match ca {
            None => None,
            Some(_) if url.scheme() != "rediss" => {
                return Err(FleetError::Ca(
                    "a CA certificate is for rediss:// (TLS) addresses; this one is redis://"
                        .to_string(),
                ));
            }
            Some(path) => Some(
                std::fs::read(path)
                    .map_err(|e| FleetError::Ca(format!("cannot read {}: {e}", path.display())))?,
            ),
        };
        Ok(StoreUrl { url, ca })
    }

    /// The address without its password, for logs and errors.
    pub(crate) fn shown(&self) -> String {
        redact(self.url.as_str())
    }
}

impl std::fmt::Debug for StoreUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown())
    }
}

/// `text` with the password of its user-info part, if any, starred out.
fn redact(text: &str) -> String {
    match Url::parse(text) {
        Ok(mut url) => {
            if url.password().is_some() {
                let _ = url.set_password(Some("***"));
            }
            url.to_string()
        }
        // Not a URL: show nothing of what might be a secret.
        Err(_) => "(an address that is not a URL)".to_string(),
    }
}

/// The connection to the shared store, and what this replica counts of it.
pub(crate) struct Fleet {
    client: redis::Client,
    connection: ConnectionManager,
    shown: String,
    /// A `rediss://` store.
    tls: bool,
    /// Keys start with this, so one Redis can serve several fleets.
    prefix: String,
    /// This replica, as leases name it.
    replica: String,
    /// How long a dead replica's jobs and slots stay taken.
    lease: Duration,
    round_trips: AtomicU64,
    errors: AtomicU64,
    /// Whether the last command reached the store.
    reachable: AtomicBool,
    /// Everything published on this fleet's channels: (channel, payload).
    messages: broadcast::Sender<(String, String)>,
}

/// The fleet's pub/sub channels (without the prefix).
pub(crate) mod channel {
    pub(crate) const CHANGES: &str = "changes";
    pub(crate) const CANCELS: &str = "cancels";
    pub(crate) const FREED: &str = "freed";
}

impl Fleet {
    /// Connects, or says why not. The connection then heals itself: while
    /// the store is away, commands fail with [`FleetError::Unreachable`].
    pub(crate) async fn connect(
        url: &StoreUrl,
        prefix: &str,
        lease: Duration,
    ) -> Result<Arc<Fleet>, FleetError> {
        let shown = url.shown();
        let tls = url.url.scheme() == "rediss";
        let unreachable = |e: redis::RedisError| {
            if e.kind() == redis::ErrorKind::AuthenticationFailed {
                FleetError::Refused {
                    store: shown.clone(),
                    reason: describe(&e),
                }
            } else {
                FleetError::Unreachable {
                    store: shown.clone(),
                    reason: describe(&e),
                    tls,
                }
            }
        };
        let client = match &url.ca {
            None => redis::Client::open(url.url.as_str()),
            Some(pem) => redis::Client::build_with_tls(
                url.url.as_str(),
                redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(pem.clone()),
                },
            ),
        }
        .map_err(unreachable)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(COMMAND_TIMEOUT))
            .set_response_timeout(Some(COMMAND_TIMEOUT))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_secs(1));
        let connection = tokio::time::timeout(
            COMMAND_TIMEOUT * 2,
            client.get_connection_manager_with_config(config),
        )
        .await
        .map_err(|_| FleetError::Unreachable {
            tls,
            store: shown.clone(),
            reason: format!("no answer within {}s", (COMMAND_TIMEOUT * 2).as_secs()),
        })?
        .map_err(unreachable)?;
        let (messages, _) = broadcast::channel(1024);
        let fleet = Arc::new(Fleet {
            client,
            connection,
            shown,
            tls,
            prefix: format!("{prefix}:"),
            replica: uuid::Uuid::new_v4().to_string(),
            lease,
            round_trips: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            reachable: AtomicBool::new(true),
            messages,
        });
        fleet.ping().await?;
        tokio::spawn(listen(Arc::downgrade(&fleet)));
        tracing::info!(store = %fleet.shown, replica = %fleet.replica, lease_ms = lease.as_millis() as u64, "sharing jobs, call slots and Space descriptions through the store");
        Ok(fleet)
    }

    pub(crate) fn shown(&self) -> &str {
        &self.shown
    }

    pub(crate) fn replica(&self) -> &str {
        &self.replica
    }

    pub(crate) fn lease(&self) -> Duration {
        self.lease
    }

    /// A key of this fleet.
    pub(crate) fn key(&self, parts: &[&str]) -> String {
        let mut key = self.prefix.clone();
        key.push_str(&parts.join(":"));
        key
    }

    /// Commands sent, and how many failed (for `/metrics`).
    pub(crate) fn round_trips(&self) -> u64 {
        self.round_trips.load(Ordering::Relaxed)
    }

    pub(crate) fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    pub(crate) fn reachable(&self) -> bool {
        self.reachable.load(Ordering::Relaxed)
    }

    /// Whether the store answers now.
    pub(crate) async fn ping(&self) -> Result<(), FleetError> {
        let _: String = self.run(&mut redis::cmd("PING")).await?;
        Ok(())
    }

    /// Sends one command (or pipeline, or script invocation, through
    /// [`Fleet::query`]), counting it.
    pub(crate) async fn run<T: redis::FromRedisValue>(
        &self,
        command: &mut redis::Cmd,
    ) -> Result<T, FleetError> {
        let mut connection = self.connection.clone();
        self.query(command.query_async(&mut connection)).await
    }

    pub(crate) async fn pipeline<T: redis::FromRedisValue>(
        &self,
        pipe: &redis::Pipeline,
    ) -> Result<T, FleetError> {
        let mut connection = self.connection.clone();
        self.query(pipe.query_async(&mut connection)).await
    }

    pub(crate) async fn script<T: redis::FromRedisValue>(
        &self,
        invocation: &redis::ScriptInvocation<'_>,
    ) -> Result<T, FleetError> {
        let mut connection = self.connection.clone();
        self.query(invocation.invoke_async(&mut connection)).await
    }

    async fn query<T>(
        &self,
        work: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, FleetError> {
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        let outcome = match tokio::time::timeout(COMMAND_TIMEOUT, work).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(describe(&e)),
            Err(_) => Err(format!("no answer within {}s", COMMAND_TIMEOUT.as_secs())),
        };
        match outcome {
            Ok(value) => {
                if !self.reachable.swap(true, Ordering::Relaxed) {
                    tracing::info!(store = %self.shown, "the shared store answers again");
                }
                Ok(value)
            }
            Err(reason) => {
                self.errors.fetch_add(1, Ordering::Relaxed);
                if self.reachable.swap(false, Ordering::Relaxed) {
                    tracing::error!(store = %self.shown, "the shared store is unreachable: {reason}");
                }
                Err(FleetError::Unreachable {
                    store: self.shown.clone(),
                    reason,
                    tls: self.tls,
                })
            }
        }
    }

    /// What is published on the fleet's channels from now on (by any
    /// replica, this one too): (channel without prefix, payload).
    pub(crate) fn messages(&self) -> broadcast::Receiver<(String, String)> {
        self.messages.subscribe()
    }

    /// A small record of this fleet's (under [`Fleet::key`]`(["kv", name])`),
    /// for the layers above: a Space's description, a session's start.
    pub(crate) async fn get(&self, name: &str) -> Result<Option<String>, FleetError> {
        self.run(redis::cmd("GET").arg(self.key(&["kv", name])))
            .await
    }

    pub(crate) async fn set(
        &self,
        name: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<(), FleetError> {
        self.run(
            redis::cmd("SET")
                .arg(self.key(&["kv", name]))
                .arg(value)
                .arg("PX")
                .arg(ttl.as_millis() as u64),
        )
        .await
    }

    pub(crate) async fn delete(&self, name: &str) -> Result<(), FleetError> {
        let _: i64 = self
            .run(redis::cmd("DEL").arg(self.key(&["kv", name])))
            .await?;
        Ok(())
    }
}

/// The marker that tells replicas they share `output_dir`.
const MARKER: &str = ".spaces-mcp-fleet";

impl Fleet {
    /// Checks that `dir` is the folder the fleet's other replicas use: the
    /// first replica leaves a marker file with a random id there and the id
    /// in the store; a replica whose folder lacks that file is not on the
    /// shared volume, and could not serve the others' saved files.
    pub(crate) async fn check_shared_dir(&self, dir: &Path) -> Result<(), FleetError> {
        let key = self.key(&["output-dir"]);
        let path = dir.join(MARKER);
        let read = |path: &Path| {
            std::fs::read_to_string(path)
                .ok()
                .map(|t| t.trim().to_string())
        };
        let mine = match read(&path) {
            Some(id) => id,
            None => {
                std::fs::create_dir_all(dir).map_err(|e| FleetError::NotShared {
                    dir: dir.display().to_string(),
                    reason: format!("cannot create it: {e}"),
                    key: key.clone(),
                })?;
                let id = uuid::Uuid::new_v4().to_string();
                // Only one replica makes the file, even on a shared volume.
                let made = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&path)
                    .and_then(|mut f| std::io::Write::write_all(&mut f, id.as_bytes()));
                match made {
                    Ok(()) => id,
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        read(&path).unwrap_or_default()
                    }
                    Err(e) => {
                        return Err(FleetError::NotShared {
                            dir: dir.display().to_string(),
                            reason: format!("cannot write {MARKER} there: {e}"),
                            key,
                        });
                    }
                }
            }
        };
        let fleet: Option<String> = self
            .run(redis::cmd("SET").arg(&key).arg(&mine).arg("NX").arg("GET"))
            .await?;
        match fleet {
            Some(theirs) if theirs != mine => Err(FleetError::NotShared {
                dir: dir.display().to_string(),
                reason: format!("its {MARKER} file is not the one the other replicas' folder has"),
                key,
            }),
            _ => Ok(()),
        }
    }
}

/// A store error in words, without the address (the caller adds the
/// redacted one).
fn describe(e: &redis::RedisError) -> String {
    let text = e.to_string();
    if text.is_empty() {
        "the connection failed".to_string()
    } else {
        text
    }
}

/// Follows the fleet's channels for as long as the fleet lives, coming
/// back after the store restarts.
async fn listen(fleet: std::sync::Weak<Fleet>) {
    let mut delay = Duration::from_millis(100);
    loop {
        let Some(strong) = fleet.upgrade() else {
            return;
        };
        let pattern = strong.key(&["*"]);
        let prefix = strong.prefix.clone();
        let subscribed = async {
            let mut pubsub = strong.client.get_async_pubsub().await?;
            pubsub.psubscribe(&pattern).await?;
            redis::RedisResult::Ok(pubsub)
        };
        let pubsub = tokio::time::timeout(COMMAND_TIMEOUT, subscribed).await;
        let sender = strong.messages.clone();
        drop(strong);
        match pubsub {
            Ok(Ok(pubsub)) => {
                delay = Duration::from_millis(100);
                // What was published while unsubscribed is caught by the
                // pollers: lease renewals read cancel flags, waiters retry.
                let mut stream = pubsub.into_on_message();
                while let Some(message) = stream.next().await {
                    let channel = message.get_channel_name().to_string();
                    let Some(name) = channel.strip_prefix(&prefix) else {
                        continue;
                    };
                    let payload: String = message.get_payload().unwrap_or_default();
                    let _ = sender.send((name.to_string(), payload));
                }
                tracing::warn!("lost the store's pub/sub connection; reconnecting");
            }
            Ok(Err(e)) => {
                tracing::debug!("cannot subscribe to the store: {}", describe(&e));
            }
            Err(_) => tracing::debug!("cannot subscribe to the store: no answer"),
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(2));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        let url = StoreUrl::parse("redis://:hunter2@127.0.0.1:6379/0", None, None).unwrap();
        assert!(!url.shown().contains("hunter2"));
        assert!(!format!("{url:?}").contains("hunter2"));
        let from_env =
            StoreUrl::parse("rediss://cache.internal:6380", Some("s3cret".into()), None).unwrap();
        assert_eq!(from_env.url.password(), Some("s3cret"));
        assert!(!from_env.shown().contains("s3cret"));
        for bad in ["http://127.0.0.1", "127.0.0.1:6379", "redis://", ""] {
            assert!(
                matches!(StoreUrl::parse(bad, None, None), Err(FleetError::BadUrl(_))),
                "{bad}"
            );
        }
        let err = StoreUrl::parse("http://u:pw@host", None, None)
            .err()
            .unwrap();
        assert!(!err.to_string().contains("pw@"), "{err}");
    }
}

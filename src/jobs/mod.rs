//! The record of calls that outlive their request: MCP tasks, and the job
//! handles (`await_job`, `cancel_job`) that serve clients without tasks.
//!
//! A job is a status, the last progress message, the final result or error,
//! the caller it belongs to, and when it was made and last changed. Jobs live
//! in a [`JobStore`]: the embedded one ([`memory::MemoryStore`]) needs no
//! set-up; a store shared by several processes fits behind the same trait,
//! which is why every method is asynchronous and why changes and cancel
//! requests come out as broadcasts rather than callbacks: a replica can be
//! told of them by its store, whoever made them.
//!
//! This layer knows nothing of MCP or Gradio: results and errors are kept as
//! the JSON the layers above hand it.

pub(crate) mod memory;

/// The message of a job whose replica died before it ended.
pub(crate) const ORPHANED: &str =
    "the replica running this job stopped before it ended; call the tool again";

use std::fmt;
use std::time::{Duration, SystemTime};

use futures_util::future::BoxFuture;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// A job's id: 122 random bits (a v4 UUID, from the OS's CSPRNG), so that
/// nobody can guess another caller's job.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct JobId(String);

impl JobId {
    pub(crate) fn random() -> JobId {
        JobId(uuid::Uuid::new_v4().to_string())
    }

    /// An id as a client sent it; anything that is not one of ours is refused
    /// before any lookup.
    pub(crate) fn parse(text: &str) -> Option<JobId> {
        uuid::Uuid::try_parse(text)
            .ok()
            .filter(|u| u.get_version_num() == 4)
            .map(|u| JobId(u.to_string()))
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl JobId {
    /// The first 8 characters, for logs: the whole id is a capability (who
    /// has it may read or cancel the job), so logs never hold it whole.
    pub(crate) fn short(&self) -> &str {
        self.0.get(..8).unwrap_or(&self.0)
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The secret mixed into every owner digest (see [`Owner::salt_with`]).
static OWNER_SALT: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();

/// Who may see a job: a digest of the caller's credentials (never the
/// credentials themselves), or one fixed owner for a local client.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Owner(String);

impl Owner {
    /// The one client of a stdio server (it spawned us).
    pub(crate) fn local() -> Owner {
        Owner("local".to_string())
    }

    /// An owner as a shared store kept it ([`Owner::as_str`]).
    pub(crate) fn from_stored(text: String) -> Owner {
        Owner(text)
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// The name of this owner's folder of saved files: `local`, `anonymous`,
    /// or the first 128 bits of the digest (plain hex: safe on every OS).
    pub(crate) fn folder_name(&self) -> String {
        let name: String = self
            .0
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .take(32)
            .collect();
        if name.is_empty() {
            "anonymous".to_string()
        } else {
            name
        }
    }

    /// Mixes `salt`, a secret of this server (of the fleet, over a shared
    /// output folder), into every owner digest from now on, so that a dump
    /// of a shared store does not give bearer tokens back by a dictionary
    /// attack on their digests. Set once, at start, before any request.
    pub(crate) fn salt_with(salt: Vec<u8>) {
        let _ = OWNER_SALT.set(salt);
    }

    /// A caller known by what it sent: each credential, labelled, digested
    /// together. No credentials at all is one owner too ("anonymous"): then
    /// the unguessable id is what guards a job.
    pub(crate) fn of_credentials<'a>(
        credentials: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Owner {
        let mut hasher = Sha256::new();
        if let Some(salt) = OWNER_SALT.get() {
            hasher.update(salt);
            hasher.update([0]);
        }
        let mut any = false;
        for (label, secret) in credentials {
            any = true;
            hasher.update(label.as_bytes());
            hasher.update([0]);
            hasher.update(secret.as_bytes());
            hasher.update([0]);
        }
        if !any {
            return Owner("anonymous".to_string());
        }
        let digest = hasher.finalize();
        Owner(digest.iter().map(|b| format!("{b:02x}")).collect())
    }
}

/// Where a job is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum JobState {
    Working,
    /// The call ended with a result (a tool error too): the result's JSON.
    Completed(Value),
    /// The call ended without a result: the error's JSON.
    Failed(Value),
    Cancelled,
}

impl JobState {
    /// The state's name as MCP's task statuses spell it.
    pub(crate) fn word(&self) -> &'static str {
        match self {
            JobState::Working => "working",
            JobState::Completed(_) => "completed",
            JobState::Failed(_) => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    /// A state from its word and kept value (a shared store's record).
    pub(crate) fn from_parts(word: &str, end: Option<Value>) -> Option<JobState> {
        Some(match word {
            "working" => JobState::Working,
            "completed" => JobState::Completed(end?),
            "failed" => JobState::Failed(end?),
            "cancelled" => JobState::Cancelled,
            _ => return None,
        })
    }

    /// The kept value of a finished call.
    pub(crate) fn end(&self) -> Option<&Value> {
        match self {
            JobState::Completed(v) | JobState::Failed(v) => Some(v),
            JobState::Working | JobState::Cancelled => None,
        }
    }

    pub(crate) fn is_finished(&self) -> bool {
        !matches!(self, JobState::Working)
    }

    /// Bytes the state holds, for the store's cap.
    fn weight(&self) -> usize {
        match self {
            JobState::Completed(v) | JobState::Failed(v) => json_len(v),
            JobState::Working | JobState::Cancelled => 0,
        }
    }
}

/// One job as stored.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Job {
    pub(crate) id: JobId,
    pub(crate) owner: Owner,
    /// The tool it runs, for messages.
    pub(crate) tool: String,
    pub(crate) state: JobState,
    /// The latest progress message, or why it ended.
    pub(crate) message: Option<String>,
    pub(crate) created: SystemTime,
    pub(crate) updated: SystemTime,
    /// How long it is kept once finished.
    pub(crate) ttl: Duration,
}

impl Job {
    pub(crate) fn new(owner: Owner, tool: &str, ttl: Duration) -> Job {
        let now = SystemTime::now();
        Job {
            id: JobId::random(),
            owner,
            tool: tool.to_string(),
            state: JobState::Working,
            message: None,
            created: now,
            updated: now,
            ttl,
        }
    }

    /// When a finished job may be dropped.
    pub(crate) fn expires(&self) -> Option<SystemTime> {
        self.state.is_finished().then(|| self.updated + self.ttl)
    }
}

/// Why the store could not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    /// A shared store that cannot be reached; the embedded one never fails.
    #[error("the job store is unavailable: {0}")]
    Unavailable(String),
}

/// Where jobs live. Every lookup by a caller names its owner: a job of
/// another owner is, to that caller, no job at all.
pub(crate) trait JobStore: Send + Sync {
    /// Records a new job; once this returns, `get` finds it.
    fn create(&self, job: Job) -> BoxFuture<'_, Result<(), StoreError>>;

    /// The job, if it exists, belongs to `owner`, and has not expired.
    fn get<'a>(
        &'a self,
        id: &'a JobId,
        owner: &'a Owner,
    ) -> BoxFuture<'a, Result<Option<Job>, StoreError>>;

    /// The latest progress message of a job still working.
    fn progress<'a>(
        &'a self,
        id: &'a JobId,
        message: String,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Ends a job. A job that already ended keeps its end (a cancel that
    /// came first stays a cancel).
    fn finish<'a>(
        &'a self,
        id: &'a JobId,
        state: JobState,
        message: Option<String>,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Asks whoever runs the job to stop it: heard on [`JobStore::cancels`].
    fn request_cancel<'a>(&'a self, id: &'a JobId) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Every job that changed (progress, end), as it changes.
    fn changes(&self) -> tokio::sync::broadcast::Receiver<JobId>;

    /// Every job someone asked to stop.
    fn cancels(&self) -> tokio::sync::broadcast::Receiver<JobId>;
}

/// The length of a value as JSON.
pub(crate) fn json_len(value: &Value) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    let _ = serde_json::to_writer(&mut counter, value);
    counter.0
}

/// A time as ISO 8601 / RFC 3339 in UTC, to the millisecond, as MCP's task
/// timestamps are written.
pub(crate) fn iso8601(time: SystemTime) -> String {
    let since = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = since.as_secs();
    let (days, rest) = ((secs / 86_400) as i64, secs % 86_400);
    // Days since 1970-01-01 to a civil date (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        since.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_iso8601_utc() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_795_000_000_123);
        assert_eq!(iso8601(t), "2026-11-18T11:06:40.123Z");
        assert_eq!(iso8601(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        // A leap day.
        let leap = SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(iso8601(leap), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn ids_are_random_and_only_ours_parse() {
        let a = JobId::random();
        let b = JobId::random();
        assert_ne!(a, b);
        assert_eq!(JobId::parse(a.as_str()), Some(a.clone()));
        assert_eq!(JobId::parse(&a.as_str().to_uppercase()), Some(a));
        for bad in [
            "",
            "1",
            "../etc/passwd",
            "00000000-0000-0000-0000-000000000000",
        ] {
            assert_eq!(JobId::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn owners_digest_credentials_and_never_hold_them() {
        let a = Owner::of_credentials([("bearer", "secret-a")]);
        let b = Owner::of_credentials([("bearer", "secret-b")]);
        let hf = Owner::of_credentials([("hf", "secret-a")]);
        assert_ne!(a, b);
        assert_ne!(a, hf, "the same secret in another place is another caller");
        assert_eq!(a, Owner::of_credentials([("bearer", "secret-a")]));
        assert!(!format!("{a:?}").contains("secret"));
        assert_eq!(Owner::of_credentials([]), Owner("anonymous".into()));
        assert_ne!(Owner::of_credentials([]), Owner::local());
    }
}

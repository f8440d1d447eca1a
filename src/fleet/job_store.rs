//! Jobs in Valkey/Redis, so that any replica answers `tasks/get`,
//! `await_job` and `tasks/cancel` for a job another one runs.
//!
//! A job is a hash (`job:<id>`): its owner, tool, state, kept result, last
//! message and times. A job still working has a lease (`lease:<id>`) that
//! the replica running it renews every third of the lease; a replica that
//! dies stops renewing, and the first replica to look at the job after the
//! lease lapsed (a `get`, or the sweep every half lease) marks it failed with
//! [`ORPHANED`]. Ends are atomic (a script): the first end stays, as in the
//! embedded store.
//!
//! A cancel is a flag (`cancel:<id>`) and a message on the `cancels`
//! channel: the message stops the job at once; the flag, read with every
//! lease renewal, stops it even if the message was lost while the store was
//! away.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::future::{BoxFuture, FutureExt};
use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::{Fleet, FleetError, channel};
use crate::jobs::{Job, JobId, JobState, JobStore, ORPHANED, Owner, StoreError};

/// How long a cancel flag is kept: past any lease, so a replica that was cut
/// off from the store still reads it when it comes back.
const CANCEL_FLAG_TTL: Duration = Duration::from_secs(600);

/// Ends a job, unless it already ended. With `reap` set, only if its lease
/// has lapsed (its replica died).
/// KEYS: job, working set, lease, changes channel.
/// ARGV: id, state, end JSON ("" for none), message ("" keeps it), now ms,
/// reap ("1" or "0").
const END: &str = r#"
if redis.call('HGET', KEYS[1], 'state') ~= 'working' then
  redis.call('SREM', KEYS[2], ARGV[1])
  return 0
end
if ARGV[6] == '1' and redis.call('EXISTS', KEYS[3]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'updated', ARGV[5])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'end', ARGV[3]) end
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'message', ARGV[4]) end
local ttl = tonumber(redis.call('HGET', KEYS[1], 'ttl') or '3600000')
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[3])
redis.call('PUBLISH', KEYS[4], ARGV[1])
return 1
"#;

/// The latest progress message of a job still working.
/// KEYS: job, changes channel. ARGV: id, message, now ms.
const PROGRESS: &str = r#"
if redis.call('HGET', KEYS[1], 'state') ~= 'working' then return 0 end
redis.call('HSET', KEYS[1], 'message', ARGV[2], 'updated', ARGV[3])
redis.call('PUBLISH', KEYS[2], ARGV[1])
return 1
"#;

pub(crate) struct RedisJobStore {
    fleet: Arc<Fleet>,
    /// Jobs this replica runs: their leases are renewed here.
    mine: Arc<Mutex<HashSet<JobId>>>,
    changes: broadcast::Sender<JobId>,
    cancels: broadcast::Sender<JobId>,
    end: redis::Script,
    progress: redis::Script,
}

impl RedisJobStore {
    /// The store, with its listener, lease renewal and sweep running for as
    /// long as it lives.
    pub(crate) fn new(fleet: Arc<Fleet>) -> Arc<RedisJobStore> {
        let (changes, _) = broadcast::channel(1024);
        let (cancels, _) = broadcast::channel(256);
        let store = Arc::new(RedisJobStore {
            fleet,
            mine: Arc::default(),
            changes,
            cancels,
            end: redis::Script::new(END),
            progress: redis::Script::new(PROGRESS),
        });
        tokio::spawn(forward(Arc::downgrade(&store)));
        tokio::spawn(upkeep(Arc::downgrade(&store)));
        store
    }

    fn mine(&self) -> MutexGuard<'_, HashSet<JobId>> {
        crate::locks::lock(&self.mine)
    }

    fn job_key(&self, id: &JobId) -> String {
        self.fleet.key(&["job", id.as_str()])
    }

    fn lease_key(&self, id: &JobId) -> String {
        self.fleet.key(&["lease", id.as_str()])
    }

    fn cancel_key(&self, id: &JobId) -> String {
        self.fleet.key(&["cancel", id.as_str()])
    }

    fn working_key(&self) -> String {
        self.fleet.key(&["working"])
    }

    fn lease_ms(&self) -> u64 {
        self.fleet.lease().as_millis() as u64
    }

    /// Ends `id` (see [`END`]); whether this call ended it.
    async fn end(
        &self,
        id: &JobId,
        state: &JobState,
        message: Option<&str>,
        reap: bool,
    ) -> Result<bool, FleetError> {
        let end = state.end().map(Value::to_string).unwrap_or_default();
        let mut invocation = self.end.prepare_invoke();
        invocation
            .key(self.job_key(id))
            .key(self.working_key())
            .key(self.lease_key(id))
            .key(self.fleet.key(&[channel::CHANGES]))
            .arg(id.as_str())
            .arg(state.word())
            .arg(end)
            .arg(message.unwrap_or_default())
            .arg(now_ms())
            .arg(if reap { "1" } else { "0" });
        let ended: i64 = self.fleet.script(&invocation).await?;
        Ok(ended == 1)
    }

    /// Marks a job whose lease lapsed as failed; whether it was one.
    async fn reap(&self, id: &JobId) -> Result<bool, FleetError> {
        let state = JobState::Failed(json!({ "code": -32603, "message": ORPHANED }));
        let reaped = self.end(id, &state, Some(ORPHANED), true).await?;
        if reaped {
            tracing::warn!(job = %id.short(), "a job's replica stopped renewing its lease: marked failed");
        }
        Ok(reaped)
    }

    /// Reads a job's record, owner unchecked, marking it failed first if its
    /// replica died.
    async fn read(&self, id: &JobId) -> Result<Option<Job>, FleetError> {
        let mut pipe = redis::pipe();
        pipe.cmd("HGETALL")
            .arg(self.job_key(id))
            .cmd("EXISTS")
            .arg(self.lease_key(id));
        let (fields, leased): (Vec<(String, String)>, bool) = self.fleet.pipeline(&pipe).await?;
        let Some(job) = parse(id, fields) else {
            return Ok(None);
        };
        if job.state.is_finished() || leased {
            return Ok(Some(job));
        }
        self.reap(id).await?;
        let fields: Vec<(String, String)> = self
            .fleet
            .run(redis::cmd("HGETALL").arg(self.job_key(id)))
            .await?;
        Ok(parse(id, fields))
    }

    /// Renews the leases of this replica's jobs; stops those flagged for
    /// cancelling, or whose lease was lost (the job was given up as dead
    /// while this replica was cut off: nobody can fetch its result now).
    async fn renew(&self) -> Result<(), FleetError> {
        let mine: Vec<JobId> = self.mine().iter().cloned().collect();
        if mine.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for id in &mine {
            pipe.cmd("PEXPIRE")
                .arg(self.lease_key(id))
                .arg(self.lease_ms())
                .cmd("EXISTS")
                .arg(self.cancel_key(id));
        }
        let answers: Vec<bool> = self.fleet.pipeline(&pipe).await?;
        for (id, pair) in mine.iter().zip(answers.chunks(2)) {
            let (renewed, cancelled) = (pair.first() == Some(&true), pair.get(1) == Some(&true));
            if cancelled || !renewed {
                if !renewed {
                    tracing::warn!(job = %id.short(), "the job's lease was lost (the store restarted or was out of reach): stopping it");
                }
                let _ = self.cancels.send(id.clone());
            }
        }
        Ok(())
    }

    /// Marks failed the working jobs whose replicas died.
    async fn sweep(&self) -> Result<(), FleetError> {
        let working: Vec<String> = self
            .fleet
            .run(redis::cmd("SRANDMEMBER").arg(self.working_key()).arg(200))
            .await?;
        let ids: Vec<JobId> = working.iter().filter_map(|w| JobId::parse(w)).collect();
        if ids.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for id in &ids {
            pipe.cmd("EXISTS").arg(self.lease_key(id));
        }
        let leased: Vec<bool> = self.fleet.pipeline(&pipe).await?;
        for (id, leased) in ids.iter().zip(leased) {
            if !leased {
                self.reap(id).await?;
            }
        }
        Ok(())
    }
}

/// A job from its hash; `None` for no record (or one this version cannot read).
fn parse(id: &JobId, fields: Vec<(String, String)>) -> Option<Job> {
    if fields.is_empty() {
        return None;
    }
    let mut owner = None;
    let mut tool = String::new();
    let mut word = String::new();
    let mut end = None;
    let mut message = None;
    let (mut created, mut updated, mut ttl) = (0u64, 0u64, 0u64);
    for (name, value) in fields {
        match name.as_str() {
            "owner" => owner = Some(Owner::from_stored(value)),
            "tool" => tool = value,
            "state" => word = value,
            "end" => end = serde_json::from_str(&value).ok(),
            "message" => message = Some(value),
            "created" => created = value.parse().unwrap_or(0),
            "updated" => updated = value.parse().unwrap_or(0),
            "ttl" => ttl = value.parse().unwrap_or(0),
            _ => {}
        }
    }
    Some(Job {
        id: id.clone(),
        owner: owner?,
        tool,
        state: JobState::from_parts(&word, end)?,
        message,
        created: UNIX_EPOCH + Duration::from_millis(created),
        updated: UNIX_EPOCH + Duration::from_millis(updated),
        ttl: Duration::from_millis(ttl),
    })
}

fn ms(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn now_ms() -> u64 {
    ms(SystemTime::now())
}

fn unavailable(e: FleetError) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

impl JobStore for RedisJobStore {
    fn create(&self, job: Job) -> BoxFuture<'_, Result<(), StoreError>> {
        async move {
            let id = job.id.clone();
            let mut pipe = redis::pipe();
            pipe.atomic()
                .cmd("HSET")
                .arg(self.job_key(&id))
                .arg("owner")
                .arg(job.owner.as_str())
                .arg("tool")
                .arg(&job.tool)
                .arg("state")
                .arg(job.state.word())
                .arg("created")
                .arg(ms(job.created))
                .arg("updated")
                .arg(ms(job.updated))
                .arg("ttl")
                .arg(job.ttl.as_millis() as u64)
                .arg("replica")
                .arg(self.fleet.replica())
                .ignore()
                .cmd("SET")
                .arg(self.lease_key(&id))
                .arg(self.fleet.replica())
                .arg("PX")
                .arg(self.lease_ms())
                .ignore()
                .cmd("SADD")
                .arg(self.working_key())
                .arg(id.as_str())
                .ignore();
            self.fleet
                .pipeline::<()>(&pipe)
                .await
                .map_err(unavailable)?;
            self.mine().insert(id);
            Ok(())
        }
        .boxed()
    }

    fn get<'a>(
        &'a self,
        id: &'a JobId,
        owner: &'a Owner,
    ) -> BoxFuture<'a, Result<Option<Job>, StoreError>> {
        async move {
            let job = self.read(id).await.map_err(unavailable)?;
            Ok(job.filter(|j| &j.owner == owner))
        }
        .boxed()
    }

    fn progress<'a>(
        &'a self,
        id: &'a JobId,
        message: String,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        async move {
            let mut invocation = self.progress.prepare_invoke();
            invocation
                .key(self.job_key(id))
                .key(self.fleet.key(&[channel::CHANGES]))
                .arg(id.as_str())
                .arg(message)
                .arg(now_ms());
            let _: i64 = self.fleet.script(&invocation).await.map_err(unavailable)?;
            Ok(())
        }
        .boxed()
    }

    fn finish<'a>(
        &'a self,
        id: &'a JobId,
        state: JobState,
        message: Option<String>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        async move {
            self.mine().remove(id);
            self.end(id, &state, message.as_deref(), false)
                .await
                .map_err(unavailable)?;
            Ok(())
        }
        .boxed()
    }

    fn request_cancel<'a>(&'a self, id: &'a JobId) -> BoxFuture<'a, Result<(), StoreError>> {
        async move {
            let mut pipe = redis::pipe();
            pipe.cmd("SET")
                .arg(self.cancel_key(id))
                .arg(1)
                .arg("PX")
                .arg(CANCEL_FLAG_TTL.as_millis() as u64)
                .ignore()
                .cmd("PUBLISH")
                .arg(self.fleet.key(&[channel::CANCELS]))
                .arg(id.as_str())
                .ignore();
            self.fleet.pipeline::<()>(&pipe).await.map_err(unavailable)
        }
        .boxed()
    }

    fn changes(&self) -> broadcast::Receiver<JobId> {
        self.changes.subscribe()
    }

    fn cancels(&self) -> broadcast::Receiver<JobId> {
        self.cancels.subscribe()
    }
}

/// Hands the fleet's `changes` and `cancels` messages to this store's
/// listeners.
async fn forward(store: Weak<RedisJobStore>) {
    let Some(mut messages) = store.upgrade().map(|s| s.fleet.messages()) else {
        return;
    };
    loop {
        let (name, payload) = match messages.recv().await {
            Ok(message) => message,
            Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let Some(store) = store.upgrade() else { return };
        let Some(id) = JobId::parse(&payload) else {
            continue;
        };
        let sender = match name.as_str() {
            channel::CHANGES => &store.changes,
            channel::CANCELS => &store.cancels,
            _ => continue,
        };
        let _ = sender.send(id);
    }
}

/// Renews this replica's leases every third of a lease, and sweeps for dead
/// replicas' jobs every half lease.
async fn upkeep(store: Weak<RedisJobStore>) {
    let Some(lease) = store.upgrade().map(|s| s.fleet.lease()) else {
        return;
    };
    let mut renew = tokio::time::interval(lease / 3);
    let mut sweep = tokio::time::interval(lease / 2);
    renew.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let renewing = tokio::select! {
            _ = renew.tick() => true,
            _ = sweep.tick() => false,
        };
        let Some(store) = store.upgrade() else { return };
        let done = if renewing {
            store.renew().await
        } else {
            store.sweep().await
        };
        if let Err(e) = done {
            tracing::debug!("job upkeep skipped: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_stored_job_reads_back_as_it_was() {
        let id = JobId::random();
        let job = parse(
            &id,
            fields(&[
                ("owner", "local"),
                ("tool", "slow"),
                ("state", "completed"),
                ("end", r#"{"content":[]}"#),
                ("message", "done"),
                ("created", "1000"),
                ("updated", "2000"),
                ("ttl", "60000"),
                ("replica", "r1"),
            ]),
        )
        .unwrap();
        assert_eq!(job.owner, Owner::local());
        assert_eq!(job.state, JobState::Completed(json!({"content": []})));
        assert_eq!(job.message.as_deref(), Some("done"));
        assert_eq!(job.updated, UNIX_EPOCH + Duration::from_secs(2));
        assert_eq!(job.ttl, Duration::from_secs(60));
        // The same state's word and kept value, as `create` and `end` write them.
        assert_eq!(job.state.word(), "completed");
        assert_eq!(job.state.end(), Some(&json!({"content": []})));
    }

    #[test]
    fn no_record_or_an_unreadable_one_is_no_job() {
        let id = JobId::random();
        assert!(parse(&id, Vec::new()).is_none());
        // A finished state without its kept value, or an unknown state.
        assert!(parse(&id, fields(&[("owner", "x"), ("state", "failed")])).is_none());
        assert!(parse(&id, fields(&[("owner", "x"), ("state", "paused")])).is_none());
        // No owner: nobody may see it.
        assert!(parse(&id, fields(&[("state", "working")])).is_none());
    }
}

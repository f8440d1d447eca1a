//! Calls that run on after their request has been answered: MCP tasks, and
//! detached calls that clients without tasks pick up with `await_job`.
//!
//! A background call is an ordinary call (the same [`Runner::call`]) whose
//! cancel token and progress belong to the job, not to the request that
//! started it: its progress goes to the job store (what `tasks/get` and
//! `await_job` show) and to whichever request is waiting on it at the time;
//! it stops only when its job is cancelled (`tasks/cancel`, `cancel_job`, a
//! cancel of the request before it was answered) or its tool's timeout
//! passes. The store hears of it only once it outlives its request
//! ([`BackgroundCalls::detach`]); from then on its progress and its end (a result
//! or an error, as JSON, kept for its TTL) go there. A call that ends within
//! its request costs the store nothing.
//!
//! Beside it: `limits` (how many jobs a caller and the process may run) and
//! `stored` (a result as the store keeps it, and sanitized when read back).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use rmcp::model::JsonObject;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

mod limits;
mod run;
mod stored;

pub(crate) use limits::{JobLimits, LimitReached};
use run::{JobRun, store_progress};
pub(crate) use stored::{result_of, wire_json};

use super::progress::{LogSink, ProgressSink};
use super::{CallOptions, Runner};
use crate::config::ToolConfig;
use crate::jobs::{Job, JobId, JobStore, Owner, StoreError};

/// Starts, watches and stops background calls.
pub(crate) struct BackgroundCalls {
    runner: Arc<Runner>,
    store: Arc<dyn JobStore>,
    running: Arc<Mutex<HashMap<JobId, Running>>>,
    ttl: Duration,
    /// The parent of every job's cancel token: stopping the server stops
    /// the Spaces' jobs too.
    all: CancellationToken,
    /// Calls that outlived their request here (became jobs), for `/metrics`.
    detached: std::sync::atomic::AtomicU64,
    /// The most jobs one owner, and this process, may have running.
    limits: JobLimits,
}

/// A job that runs in this process.
struct Running {
    cancel: CancellationToken,
    /// The request waiting on the job now, told of its progress.
    listener: Arc<Mutex<Option<ProgressSink>>>,
    /// Where the Space's log lines go until the job's request is answered.
    log: Arc<Mutex<Option<LogSink>>>,
    /// Set once the job's request was answered without its result: from then
    /// on others may ask for the job, so its progress goes to the store.
    detached: tokio::sync::watch::Sender<bool>,
    /// The latest progress message.
    latest: tokio::sync::watch::Receiver<String>,
    /// Whether the store has the job; held while the job is put there, and
    /// while its end is, so that an end is stored exactly when the job is.
    stored: Arc<tokio::sync::Mutex<bool>>,
    /// The job as the store will first hold it.
    record: Job,
    /// Counted against its owner's and the server's job limits: set (under
    /// the `running` lock) when the call goes on as a job.
    counted: bool,
}

/// A call started in the background: its job's id, and its end once it has
/// one, known here before (and whether or not) the store has the job.
pub(crate) struct Started {
    pub(crate) id: JobId,
    ended: tokio::sync::watch::Receiver<Option<Job>>,
}

/// What [`BackgroundCalls::detach`] found.
pub(crate) enum Detached {
    /// The call ended meanwhile: here is its end, and the store never had it.
    Ended(Job),
    /// The store has the job now, still working.
    Stored(Job),
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum JobError {
    /// No such job for this caller: never made, another caller's, or dropped
    /// after its TTL.
    #[error("no job {0} for this caller")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Limit(#[from] LimitReached),
}

/// The most often a detached job's progress is written to the store.
const PROGRESS_EVERY: Duration = Duration::from_millis(500);

/// How often a waiting request looks at its job even when no change was heard.
const RECHECK: Duration = Duration::from_secs(1);

/// The error a call that stopped unexpectedly ends with (a JSON-RPC error).
const INTERNAL_ERROR: i32 = -32603;

impl BackgroundCalls {
    /// The background runner; it listens for cancel requests at once.
    pub(crate) fn new(
        runner: Arc<Runner>,
        store: Arc<dyn JobStore>,
        ttl: Duration,
        limits: JobLimits,
    ) -> Arc<BackgroundCalls> {
        let background = Arc::new(BackgroundCalls {
            runner,
            store,
            running: Arc::default(),
            ttl,
            limits,
            all: CancellationToken::new(),
            detached: Default::default(),
        });
        let mut cancels = background.store.cancels();
        let running = Arc::downgrade(&background.running);
        tokio::spawn(async move {
            loop {
                let id = match cancels.recv().await {
                    Ok(id) => id,
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "cancel requests came faster than they were read");
                        continue;
                    }
                    Err(RecvError::Closed) => return,
                };
                let Some(running) = Weak::upgrade(&running) else {
                    return;
                };
                if let Some(job) = crate::locks::lock(&running).get(&id) {
                    job.cancel.cancel();
                }
            }
        });
        background
    }

    pub(crate) fn runner(&self) -> &Arc<Runner> {
        &self.runner
    }

    /// Jobs (calls that outlived their request) running in this process
    /// now, and how many there have been since start.
    pub(crate) fn counts(&self) -> (usize, u64) {
        let running = crate::locks::lock(&self.running)
            .values()
            .filter(|r| *r.detached.borrow())
            .count();
        (
            running,
            self.detached.load(std::sync::atomic::Ordering::Relaxed),
        )
    }

    /// How long finished jobs are kept.
    pub(crate) fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Starts a call as a job of `owner`. Once this returns, the store has
    /// the job. `options.cancel` and `options.progress` are replaced by the
    /// job's own.
    pub(crate) async fn start(
        &self,
        tool: &ToolConfig,
        arguments: Option<JsonObject>,
        mut options: CallOptions,
        owner: Owner,
    ) -> Result<Started, JobError> {
        // The store hears of the job only if it outlives its request
        // ([`BackgroundCalls::detach`]): most calls end within it, and cost the
        // store nothing.
        let record = Job::new(owner, &tool.name, self.ttl);
        let id = record.id.clone();
        let (ended_tx, ended) = tokio::sync::watch::channel(None::<Job>);
        let stored: Arc<tokio::sync::Mutex<bool>> = Arc::default();

        let cancel = self.all.child_token();
        let listener: Arc<Mutex<Option<ProgressSink>>> = Arc::default();
        let (messages, latest) = tokio::sync::watch::channel(String::new());
        let sink: ProgressSink = {
            let listener = listener.clone();
            Arc::new(move |value, total, message: String| {
                if let Some(sink) = crate::locks::lock(&listener).clone() {
                    sink(value, total, message.clone());
                }
                messages.send_replace(message);
            })
        };
        options.cancel = cancel.clone();
        options.progress = Some(sink);
        // The Space's log lines go to the request that started the job until
        // it is answered (`stop_logs`); after that they stay in the progress
        // message only (the tasks extension sends no logs either).
        let log: Arc<Mutex<Option<LogSink>>> = Arc::new(Mutex::new(options.log.take()));
        options.log = Some({
            let log = log.clone();
            Arc::new(move |level: &str, line: String| {
                if let Some(sink) = crate::locks::lock(&log).clone() {
                    sink(level, line);
                }
            })
        });
        let (detached, answered) = tokio::sync::watch::channel(false);
        crate::locks::lock(&self.running).insert(
            id.clone(),
            Running {
                cancel,
                listener,
                log,
                detached,
                latest: latest.clone(),
                stored: stored.clone(),
                record: record.clone(),
                counted: false,
            },
        );

        tokio::spawn(store_progress(
            self.store.clone(),
            id.clone(),
            answered,
            latest,
        ));
        let run = JobRun {
            runner: self.runner.clone(),
            store: self.store.clone(),
            running: self.running.clone(),
            tool: tool.clone(),
            arguments,
            options,
            record,
            stored,
            ended: ended_tx,
        };
        tokio::spawn(run.run());
        Ok(Started { id, ended })
    }

    /// Waits up to `limit` for a call just started to end, telling
    /// `progress` (its request's) of its progress; its end, if it came.
    pub(crate) async fn wait_for_end(
        &self,
        started: &Started,
        limit: Duration,
        progress: Option<ProgressSink>,
    ) -> Option<Job> {
        let _listening = progress.map(|sink| self.listen(&started.id, sink));
        let mut ended = started.ended.clone();
        match tokio::time::timeout(limit, ended.wait_for(Option::is_some)).await {
            Ok(Ok(end)) => end.clone(),
            _ => None,
        }
    }

    /// The call outlives its request: the store gets the job (so that
    /// `tasks/get`, `await_job` and any replica find it), its progress goes
    /// there from now on, and its log lines nowhere. A call that ended
    /// meanwhile is not stored at all.
    pub(crate) async fn detach(&self, started: &Started) -> Result<Detached, JobError> {
        let Some((stored, mut record, detached, latest, log)) = ({
            let mut running = crate::locks::lock(&self.running);
            let owner = running.get(&started.id).map(|r| r.record.owner.clone());
            // The job takes its place under the limits now, or not at all.
            if let Some(owner) = owner {
                self.room_for(&running, &owner)?;
            }
            running.get_mut(&started.id).map(|r| {
                r.counted = true;
                (
                    r.stored.clone(),
                    r.record.clone(),
                    r.detached.clone(),
                    r.latest.clone(),
                    r.log.clone(),
                )
            })
        }) else {
            return self.ended_meanwhile(started);
        };
        let uncount = || {
            if let Some(r) = crate::locks::lock(&self.running).get_mut(&started.id) {
                r.counted = false;
            }
        };
        let mut stored = stored.lock().await;
        if started.ended.borrow().is_some() {
            return self.ended_meanwhile(started);
        }
        record.message = Some(latest.borrow().clone()).filter(|m| !m.is_empty());
        record.updated = std::time::SystemTime::now();
        if let Err(e) = self.store.create(record.clone()).await {
            uncount();
            return Err(e.into());
        }
        *stored = true;
        *crate::locks::lock(&log) = None;
        detached.send_replace(true);
        self.detached
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(Detached::Stored(record))
    }

    fn ended_meanwhile(&self, started: &Started) -> Result<Detached, JobError> {
        started
            .ended
            .borrow()
            .clone()
            .map(Detached::Ended)
            .ok_or_else(|| JobError::NotFound(started.id.to_string()))
    }

    /// The job as it is now.
    pub(crate) async fn get(&self, id: &JobId, owner: &Owner) -> Result<Job, JobError> {
        self.store
            .get(id, owner)
            .await?
            .ok_or_else(|| JobError::NotFound(id.to_string()))
    }

    /// Waits up to `limit` for the job to end, telling `progress` (the
    /// waiting request's) of its progress meanwhile; the job as it then is.
    pub(crate) async fn wait(
        &self,
        id: &JobId,
        owner: &Owner,
        limit: Duration,
        progress: Option<ProgressSink>,
    ) -> Result<Job, JobError> {
        // Listening before looking, so no change falls in between.
        let mut changes = self.store.changes();
        let _listening = progress.map(|sink| self.listen(id, sink));
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let job = self.get(id, owner).await?;
            if job.state.is_finished() {
                return Ok(job);
            }
            loop {
                // A shared store's messages may be lost while it restarts:
                // look again now and then, whatever was heard.
                let look = deadline.min(tokio::time::Instant::now() + RECHECK);
                match tokio::time::timeout_at(look, changes.recv()).await {
                    Err(_) if look < deadline => break,
                    Err(_) => return self.get(id, owner).await,
                    Ok(Ok(changed)) if changed == *id => break,
                    Ok(Ok(_)) => continue,
                    Ok(Err(RecvError::Lagged(_))) => break,
                    Ok(Err(RecvError::Closed)) => return self.get(id, owner).await,
                }
            }
        }
    }

    /// Asks the job to stop. A finished job stays as it ended.
    pub(crate) async fn cancel(&self, id: &JobId, owner: &Owner) -> Result<Job, JobError> {
        let job = self.get(id, owner).await?;
        if !job.state.is_finished() {
            tracing::info!(job = %id.short(), tool = job.tool, "cancelling a job");
            self.store.request_cancel(id).await?;
        }
        Ok(job)
    }

    /// Stops a job of this process at once (its request was cancelled
    /// before it was answered).
    pub(crate) fn cancel_here(&self, id: &JobId) {
        if let Some(job) = crate::locks::lock(&self.running).get(id) {
            job.cancel.cancel();
        }
    }

    /// Stops every job (the server is going away: nobody could fetch their
    /// results), so that the Spaces stop working on them.
    pub(crate) fn cancel_all(&self) {
        let running = crate::locks::lock(&self.running).len();
        if running > 0 {
            tracing::info!(jobs = running, "stopping the jobs still running");
        }
        self.all.cancel();
    }

    /// Sends the job's progress to `sink` until the guard is dropped.
    fn listen(&self, id: &JobId, sink: ProgressSink) -> Listening {
        let slot = crate::locks::lock(&self.running)
            .get(id)
            .map(|r| r.listener.clone());
        if let Some(slot) = &slot {
            *crate::locks::lock(slot) = Some(sink.clone());
        }
        Listening { slot, sink }
    }
}

/// While it lives, a waiting request hears its job's progress.
struct Listening {
    slot: Option<Arc<Mutex<Option<ProgressSink>>>>,
    sink: ProgressSink,
}

impl Drop for Listening {
    fn drop(&mut self) {
        if let Some(slot) = &self.slot {
            let mut current = crate::locks::lock(slot);
            // Another request may have started listening since.
            if current.as_ref().is_some_and(|s| Arc::ptr_eq(s, &self.sink)) {
                *current = None;
            }
        }
    }
}

//! The embedded job store: jobs in this process's memory, bounded.
//!
//! A finished job is kept for its TTL, then dropped the next time the store
//! is used. Finished jobs also count against a cap (how many, and how many
//! bytes of results): past it the oldest finished ones go first, and a log
//! line says how many. Jobs still working are never evicted; each is bounded
//! by its tool's timeout.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use futures_util::future::{BoxFuture, FutureExt};
use tokio::sync::broadcast;

use super::{Job, JobId, JobState, JobStore, Owner, StoreError};

/// How much the store keeps of finished jobs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StoreLimits {
    pub(crate) max_results: usize,
    pub(crate) max_bytes: usize,
}

pub(crate) struct MemoryStore {
    inner: Mutex<Inner>,
    limits: StoreLimits,
    changes: broadcast::Sender<JobId>,
    cancels: broadcast::Sender<JobId>,
}

#[derive(Default)]
struct Inner {
    jobs: HashMap<JobId, Job>,
    /// Finished jobs, oldest end first: expiry and eviction both take from
    /// the front.
    finished: VecDeque<JobId>,
    /// Bytes of results held by finished jobs.
    bytes: usize,
}

impl Inner {
    fn drop_job(&mut self, id: &JobId) -> Option<Job> {
        let job = self.jobs.remove(id)?;
        if job.state.is_finished() {
            self.bytes = self.bytes.saturating_sub(job.state.weight());
        }
        Some(job)
    }

    /// Drops finished jobs past their TTL, then the oldest while over the cap.
    fn tidy(&mut self, limits: StoreLimits, now: SystemTime) {
        let mut evicted = 0usize;
        while let Some(front) = self.finished.front().cloned() {
            let Some(job) = self.jobs.get(&front) else {
                self.finished.pop_front();
                continue;
            };
            let expired = job.expires().is_some_and(|at| at <= now);
            let over = self.finished.len() > limits.max_results || self.bytes > limits.max_bytes;
            if !expired && !over {
                break;
            }
            self.finished.pop_front();
            self.drop_job(&front);
            if !expired {
                evicted += 1;
            }
        }
        if evicted > 0 {
            tracing::warn!(
                evicted,
                kept = self.finished.len(),
                max_results = limits.max_results,
                max_bytes = limits.max_bytes,
                "job store full: dropped the oldest finished jobs before their TTL"
            );
        }
    }
}

impl MemoryStore {
    pub(crate) fn new(limits: StoreLimits) -> MemoryStore {
        MemoryStore {
            inner: Mutex::new(Inner::default()),
            limits,
            changes: broadcast::channel(256).0,
            cancels: broadcast::channel(64).0,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        crate::locks::lock(&self.inner)
    }

    fn changed(&self, id: &JobId) {
        // Nobody listening is fine.
        let _ = self.changes.send(id.clone());
    }
}

impl JobStore for MemoryStore {
    fn create(&self, job: Job) -> BoxFuture<'_, Result<(), StoreError>> {
        let mut inner = self.lock();
        inner.tidy(self.limits, SystemTime::now());
        inner.jobs.insert(job.id.clone(), job);
        std::future::ready(Ok(())).boxed()
    }

    fn get<'a>(
        &'a self,
        id: &'a JobId,
        owner: &'a Owner,
    ) -> BoxFuture<'a, Result<Option<Job>, StoreError>> {
        let mut inner = self.lock();
        inner.tidy(self.limits, SystemTime::now());
        let job = inner.jobs.get(id).filter(|j| &j.owner == owner).cloned();
        std::future::ready(Ok(job)).boxed()
    }

    fn progress<'a>(
        &'a self,
        id: &'a JobId,
        message: String,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let updated = {
            let mut inner = self.lock();
            match inner.jobs.get_mut(id) {
                Some(job) if !job.state.is_finished() => {
                    job.message = Some(message);
                    job.updated = SystemTime::now();
                    true
                }
                _ => false,
            }
        };
        if updated {
            self.changed(id);
        }
        std::future::ready(Ok(())).boxed()
    }

    fn finish<'a>(
        &'a self,
        id: &'a JobId,
        state: JobState,
        message: Option<String>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let ended = {
            let mut inner = self.lock();
            let weight = state.weight();
            let ended = match inner.jobs.get_mut(id) {
                Some(job) if !job.state.is_finished() => {
                    job.state = state;
                    if message.is_some() {
                        job.message = message;
                    }
                    job.updated = SystemTime::now();
                    true
                }
                _ => false,
            };
            if ended {
                inner.bytes += weight;
                inner.finished.push_back(id.clone());
                inner.tidy(self.limits, SystemTime::now());
            }
            ended
        };
        if ended {
            self.changed(id);
        }
        std::future::ready(Ok(())).boxed()
    }

    fn request_cancel<'a>(&'a self, id: &'a JobId) -> BoxFuture<'a, Result<(), StoreError>> {
        let _ = self.cancels.send(id.clone());
        std::future::ready(Ok(())).boxed()
    }

    fn changes(&self) -> broadcast::Receiver<JobId> {
        self.changes.subscribe()
    }

    fn cancels(&self) -> broadcast::Receiver<JobId> {
        self.cancels.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;

    fn store(max_results: usize, max_bytes: usize) -> MemoryStore {
        MemoryStore::new(StoreLimits {
            max_results,
            max_bytes,
        })
    }

    async fn finished(store: &MemoryStore, owner: &Owner, ttl: Duration, text: &str) -> JobId {
        let job = Job::new(owner.clone(), "t", ttl);
        let id = job.id.clone();
        store.create(job).await.unwrap();
        store
            .finish(&id, JobState::Completed(json!({ "text": text })), None)
            .await
            .unwrap();
        id
    }

    #[tokio::test]
    async fn a_job_is_seen_by_its_owner_only() {
        let store = store(10, 1 << 20);
        let alice = Owner::of_credentials([("bearer", "alice")]);
        let bob = Owner::of_credentials([("bearer", "bob")]);
        let job = Job::new(alice.clone(), "t", Duration::from_secs(60));
        let id = job.id.clone();
        store.create(job).await.unwrap();
        assert!(store.get(&id, &alice).await.unwrap().is_some());
        assert!(store.get(&id, &bob).await.unwrap().is_none());
        assert!(store.get(&JobId::random(), &alice).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn progress_and_end_are_recorded_and_announced_and_an_end_is_final() {
        let store = store(10, 1 << 20);
        let owner = Owner::local();
        let job = Job::new(owner.clone(), "t", Duration::from_secs(60));
        let id = job.id.clone();
        store.create(job).await.unwrap();
        let mut changes = store.changes();
        store.progress(&id, "step 1 of 3".into()).await.unwrap();
        assert_eq!(changes.recv().await.unwrap(), id);
        let seen = store.get(&id, &owner).await.unwrap().unwrap();
        assert_eq!(seen.message.as_deref(), Some("step 1 of 3"));
        assert_eq!(seen.state, JobState::Working);

        store
            .finish(&id, JobState::Cancelled, Some("stopped".into()))
            .await
            .unwrap();
        // A result that comes after the cancel does not replace it.
        store
            .finish(&id, JobState::Completed(json!({})), None)
            .await
            .unwrap();
        store.progress(&id, "late".into()).await.unwrap();
        let seen = store.get(&id, &owner).await.unwrap().unwrap();
        assert_eq!(seen.state, JobState::Cancelled);
        assert_eq!(seen.message.as_deref(), Some("stopped"));
    }

    #[tokio::test]
    async fn finished_jobs_expire_after_their_ttl() {
        let store = store(10, 1 << 20);
        let owner = Owner::local();
        let short = finished(&store, &owner, Duration::from_millis(50), "short").await;
        let long = finished(&store, &owner, Duration::from_secs(60), "long").await;
        // A working job outlives any TTL: it ends by its tool's timeout.
        let working = Job::new(owner.clone(), "t", Duration::from_millis(1));
        let working_id = working.id.clone();
        store.create(working).await.unwrap();
        assert!(store.get(&short, &owner).await.unwrap().is_some());
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert!(store.get(&short, &owner).await.unwrap().is_none());
        assert!(store.get(&long, &owner).await.unwrap().is_some());
        assert!(store.get(&working_id, &owner).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn past_the_cap_the_oldest_finished_jobs_go_first() {
        let owner = Owner::local();
        let ttl = Duration::from_secs(60);
        // By count.
        let store = store(3, 1 << 20);
        let working = Job::new(owner.clone(), "t", ttl);
        let working_id = working.id.clone();
        store.create(working).await.unwrap();
        let mut ids = Vec::new();
        for n in 0..5 {
            ids.push(finished(&store, &owner, ttl, &format!("result {n}")).await);
        }
        let kept: Vec<bool> =
            futures_util::future::join_all(ids.iter().map(|id| store.get(id, &owner)))
                .await
                .into_iter()
                .map(|j| j.unwrap().is_some())
                .collect();
        assert_eq!(kept, [false, false, true, true, true]);
        assert!(store.get(&working_id, &owner).await.unwrap().is_some());

        // By bytes: each result is about 1 kB, the cap 2.5 kB.
        let store = super::tests::store(100, 2500);
        let big = "x".repeat(1000);
        let mut ids = Vec::new();
        for _ in 0..4 {
            ids.push(finished(&store, &owner, ttl, &big).await);
        }
        assert!(store.get(&ids[0], &owner).await.unwrap().is_none());
        assert!(store.get(&ids[1], &owner).await.unwrap().is_none());
        assert!(store.get(&ids[2], &owner).await.unwrap().is_some());
        assert!(store.get(&ids[3], &owner).await.unwrap().is_some());
        assert!(store.lock().bytes <= 2500);
    }

    #[tokio::test]
    async fn cancel_requests_are_announced() {
        let store = store(10, 1 << 20);
        let mut cancels = store.cancels();
        let id = JobId::random();
        store.request_cancel(&id).await.unwrap();
        assert_eq!(cancels.recv().await.unwrap(), id);
    }
}

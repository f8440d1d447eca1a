//! The bounds on background calls: how many jobs one caller, and this
//! process, may have running at once.

use std::collections::HashMap;

use super::{BackgroundCalls, Running};
use crate::jobs::{JobId, Owner};
use crate::locks::lock;

/// How many jobs (calls that outlived their request) may run at once.
#[derive(Debug, Clone, Copy)]
pub(crate) struct JobLimits {
    pub(crate) per_owner: usize,
    pub(crate) total: usize,
}

/// A job limit that was reached.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub(crate) enum LimitReached {
    #[error(
        "this caller already has {0} calls running in the background (max_jobs_per_owner in spaces.toml); wait for one to end (await_job, tasks/get) or cancel one (cancel_job, tasks/cancel), then call again"
    )]
    Owner(usize),
    #[error(
        "this server already runs {0} calls in the background (max_jobs in spaces.toml); try again in a moment"
    )]
    Server(usize),
}

impl BackgroundCalls {
    /// Whether `owner` may have one more job, and the server too.
    pub(crate) fn has_room(&self, owner: &Owner) -> Result<(), LimitReached> {
        self.room_for(&lock(&self.running), owner)
    }

    pub(super) fn room_for(
        &self,
        running: &HashMap<JobId, Running>,
        owner: &Owner,
    ) -> Result<(), LimitReached> {
        let jobs = running.values().filter(|r| r.counted);
        let (mut total, mut owners) = (0, 0);
        for job in jobs {
            total += 1;
            owners += usize::from(job.record.owner == *owner);
        }
        if owners >= self.limits.per_owner {
            return Err(LimitReached::Owner(self.limits.per_owner));
        }
        if total >= self.limits.total {
            return Err(LimitReached::Server(self.limits.total));
        }
        Ok(())
    }
}

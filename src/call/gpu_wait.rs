//! ZeroGPU refusals waited out rather than reported.
//!
//! A ZeroGPU Space refuses a call whose caller's GPU quota is spent, and
//! says when it refills ("Try again in 0:03:12"), or refuses for want of a
//! free GPU. When that wait fits in the call's remaining time, the call
//! reports it as progress, waits, and submits again, once. A task (the
//! client polls for its result) may wait past its timeout, up to
//! [`MAX_POLLED_WAIT`]. Otherwise the call ends with an error that says
//! when to retry (`retry_after_seconds` in `structuredContent`, for an
//! agent to schedule), whether a token was sent, and how to use one's own
//! quota.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::progress::Reporter;
use crate::gradio::{GpuRefusal, GradioError, Stage};

/// The longest a task waits for a refill past its timeout.
pub(crate) const MAX_POLLED_WAIT: Duration = Duration::from_secs(30 * 60);

/// Room left after a wait for the call itself to run: a wait that leaves
/// less is not worth it.
const ROOM_TO_RUN: Duration = Duration::from_secs(10);

/// A little past the refill time, so the second try finds the quota back.
const MARGIN: Duration = Duration::from_secs(2);

/// When a call must end: its timeout from its start, pushed back by a wait
/// for GPU quota in a task.
pub(super) struct Deadline(Mutex<Instant>);

impl Deadline {
    pub(super) fn after(limit: Duration) -> Deadline {
        Deadline(Mutex::new(Instant::now() + limit))
    }

    fn at(&self) -> Instant {
        *crate::locks::lock(&self.0)
    }

    fn remaining(&self) -> Duration {
        self.at().saturating_duration_since(Instant::now())
    }

    fn push_back(&self, by: Duration) {
        *crate::locks::lock(&self.0) += by;
    }

    /// `work`'s output, or `None` if the deadline (as it stands when it
    /// comes) passes first.
    pub(super) async fn bound<T>(&self, work: impl Future<Output = T>) -> Option<T> {
        tokio::pin!(work);
        loop {
            let at = self.at();
            tokio::select! {
                out = &mut work => return Some(out),
                _ = tokio::time::sleep_until(at) => {
                    if self.at() <= Instant::now() {
                        return None;
                    }
                }
            }
        }
    }
}

/// A ZeroGPU refusal the call could not wait out.
#[derive(Debug)]
pub(crate) struct Refused {
    pub(crate) refusal: GpuRefusal,
    /// The Space's own words.
    pub(crate) message: String,
    /// Whether the call had waited once already.
    pub(crate) waited: bool,
    /// Whether the call carried an HF token (the quota was that account's).
    pub(crate) token_sent: bool,
}

/// What to do after the first submission.
pub(super) enum Next<T> {
    Done(T),
    /// The wait is over: submit again.
    SubmitAgain,
}

/// Decides, from the first submission's outcome, whether to wait for GPU
/// quota and submit again (having waited, with progress), or to end.
pub(super) async fn after_first<T>(
    outcome: Result<T, GradioError>,
    deadline: &Deadline,
    polled: bool,
    reporter: &Reporter,
) -> Result<Next<T>, Refusal> {
    let message = match outcome {
        Ok(value) => return Ok(Next::Done(value)),
        Err(GradioError::App(message)) => message,
        Err(other) => return Err(Refusal::Other(other)),
    };
    let Some(refusal) = GpuRefusal::of(&message) else {
        return Err(Refusal::Other(GradioError::App(message)));
    };
    let refused = |waited| {
        Refusal::Gpu(Refused {
            refusal,
            message: message.clone(),
            waited,
            token_sent: false,
        })
    };
    let Some(wait) = refusal.retry_after() else {
        return Err(refused(false));
    };
    let remaining = deadline.remaining();
    let fits = wait + MARGIN + ROOM_TO_RUN <= remaining;
    if !fits {
        if !polled || wait > MAX_POLLED_WAIT {
            return Err(refused(false));
        }
        deadline.push_back(wait + MARGIN + ROOM_TO_RUN - remaining);
    }
    tracing::info!(
        seconds = wait.as_secs(),
        "the Space refused for GPU quota; waiting, then submitting again"
    );
    reporter.stage(Stage::GpuWait { refusal, wait });
    tokio::time::sleep(wait + MARGIN).await;
    Ok(Next::SubmitAgain)
}

/// The second submission's failure: a refusal again is final.
pub(super) fn after_second(error: GradioError) -> Refusal {
    match error {
        GradioError::App(message) => match GpuRefusal::of(&message) {
            Some(refusal) => Refusal::Gpu(Refused {
                refusal,
                message,
                waited: true,
                token_sent: false,
            }),
            None => Refusal::Other(GradioError::App(message)),
        },
        other => Refusal::Other(other),
    }
}

/// How a submission ended without a result.
pub(super) enum Refusal {
    Gpu(Refused),
    Other(GradioError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_refusal_is_waited_out_when_it_fits_and_reported_when_not() {
        let reporter = Reporter::new(None);
        let quota = || {
            Err::<(), _>(GradioError::App(
                "You have exceeded your GPU quota (60s requested vs. 56s left). Try again in 0:00:30".into(),
            ))
        };
        // 30 s fits in 120 s: wait, then submit again.
        let roomy = Deadline::after(Duration::from_secs(120));
        let started = Instant::now();
        let next = after_first(quota(), &roomy, false, &reporter).await;
        assert!(matches!(next, Ok(Next::SubmitAgain)));
        assert!(started.elapsed() >= Duration::from_secs(30));
        // 30 s does not fit in 20 s: the refusal, with its wait.
        let tight = Deadline::after(Duration::from_secs(20));
        match after_first(quota(), &tight, false, &reporter).await {
            Err(Refusal::Gpu(r)) => {
                assert_eq!(r.refusal.retry_after(), Some(Duration::from_secs(30)))
            }
            _ => panic!("expected a refusal"),
        }
        // A task waits past its timeout, and its deadline moves with it.
        let polled = Deadline::after(Duration::from_secs(20));
        let before = polled.at();
        assert!(matches!(
            after_first(quota(), &polled, true, &reporter).await,
            Ok(Next::SubmitAgain)
        ));
        assert!(polled.at() > before);
        // Another error passes through.
        let other = after_first(
            Err::<(), _>(GradioError::App("bad input".into())),
            &roomy,
            true,
            &reporter,
        )
        .await;
        assert!(matches!(other, Err(Refusal::Other(GradioError::App(_)))));
    }
}

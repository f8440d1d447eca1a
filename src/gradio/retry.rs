//! Trying again what may pass: a refused connection (a few times), a Space
//! that sleeps, builds or restarts (502/503/504), rate limits (429, after
//! their Retry-After). The decision is made on the error's kind, never on
//! its text.

use std::time::Duration;

use super::{GradioError, Observer, Stage, Unreachable};

/// Connection failures are retried this many times: a Space that refuses
/// connections is usually down, not starting.
const CONNECT_RETRIES: u32 = 3;

/// Runs `attempt` until it succeeds or fails for good, waiting between tries
/// with exponential backoff and jitter (or the server's Retry-After). Only
/// failures that may pass are retried; the caller's timeout bounds the whole.
/// Whether a request may be sent again after a broken connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Request {
    /// A read (`/config`, `/info`): any broken connection may be tried
    /// again (a pooled connection to a Space that restarted is reset).
    Read,
    /// An event: only when no connection was made at all, since a reset
    /// connection may have delivered it.
    Event,
}

pub(super) async fn retrying<T, F, Fut>(
    observe: Observer<'_>,
    request: Request,
    mut attempt: F,
) -> Result<T, GradioError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, GradioError>>,
{
    let mut tries: u32 = 0;
    loop {
        let error = match attempt().await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        tries += 1;
        let backoff = backoff(tries);
        let (wait, stage) = match &error {
            GradioError::Unreachable { reason, kind, .. }
                if tries <= CONNECT_RETRIES
                    && (*kind == Unreachable::Connect
                        || (*kind == Unreachable::Other && request == Request::Read)) =>
            {
                (
                    backoff,
                    Stage::Retrying {
                        reason: reason.clone(),
                        wait: backoff,
                        attempt: tries + 1,
                    },
                )
            }
            GradioError::Http {
                status: 502..=504,
                retry_after,
                ..
            } => {
                let wait = retry_after.unwrap_or(backoff).min(MAX_BACKOFF);
                (wait, Stage::Waking { wait })
            }
            GradioError::Http {
                status: 429,
                retry_after,
                ..
            } => {
                let wait = retry_after.unwrap_or(backoff).min(Duration::from_secs(60));
                (
                    wait,
                    Stage::Retrying {
                        reason: "the Space is rate-limiting (HTTP 429)".into(),
                        wait,
                        attempt: tries + 1,
                    },
                )
            }
            _ => return Err(error),
        };
        tracing::info!(
            attempt = tries + 1,
            wait_ms = wait.as_millis() as u64,
            "retrying after: {error}"
        );
        observe(stage);
        tokio::time::sleep(wait).await;
    }
}

/// The longest wait between tries.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// 0.5 s, 1 s, 2 s, … up to 10 s, each scaled by a random 75–125 % so that
/// many clients do not retry in step.
pub(super) fn backoff(tries: u32) -> Duration {
    let base = Duration::from_millis(500)
        .saturating_mul(1 << tries.saturating_sub(1).min(5))
        .min(MAX_BACKOFF);
    let jitter = 0.75 + (uuid::Uuid::new_v4().as_u128() % 500) as f64 / 1000.0;
    base.mul_f64(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn unreachable(kind: Unreachable) -> GradioError {
        GradioError::Unreachable {
            url: "http://x/".into(),
            reason: "no answer within 5s".into(),
            kind,
        }
    }

    async fn tries_for(error: fn() -> GradioError) -> u32 {
        let tries = AtomicU32::new(0);
        let _ = retrying(&|_| {}, Request::Event, || async {
            tries.fetch_add(1, Ordering::SeqCst);
            Err::<(), _>(error())
        })
        .await;
        tries.load(Ordering::SeqCst)
    }

    #[tokio::test(start_paused = true)]
    async fn refused_connections_are_retried_a_few_times_and_silence_never() {
        assert_eq!(
            tries_for(|| unreachable(Unreachable::Connect)).await,
            CONNECT_RETRIES + 1
        );
        // A Space that took the request and never answered may be running it: not sent again.
        assert_eq!(tries_for(|| unreachable(Unreachable::NoAnswer)).await, 1);
        assert_eq!(tries_for(|| GradioError::App("no".into())).await, 1);
        // A reset connection: an event is not sent again, a read is.
        assert_eq!(tries_for(|| unreachable(Unreachable::Other)).await, 1);
        let reads = AtomicU32::new(0);
        let _ = retrying(&|_| {}, Request::Read, || async {
            reads.fetch_add(1, Ordering::SeqCst);
            Err::<(), _>(unreachable(Unreachable::Other))
        })
        .await;
        assert_eq!(reads.load(Ordering::SeqCst), CONNECT_RETRIES + 1);
    }

    #[tokio::test(start_paused = true)]
    async fn waking_spaces_are_waited_for_until_they_answer() {
        let tries = AtomicU32::new(0);
        let result = retrying(&|_| {}, Request::Event, || async {
            match tries.fetch_add(1, Ordering::SeqCst) {
                0..=4 => Err(GradioError::Http {
                    what: "x".into(),
                    status: 503,
                    detail: String::new(),
                    retry_after: Some(Duration::from_secs(1)),
                }),
                _ => Ok(7),
            }
        })
        .await;
        assert_eq!(result.unwrap(), 7);
        assert_eq!(tries.load(Ordering::SeqCst), 6);
    }

    #[test]
    fn backoff_grows_to_its_cap_with_jitter() {
        for tries in 1..20 {
            let wait = backoff(tries);
            assert!(wait <= MAX_BACKOFF.mul_f64(1.25), "{wait:?}");
            assert!(wait >= Duration::from_millis(375));
        }
    }
}

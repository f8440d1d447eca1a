//! ZeroGPU's refusals, read for what they say about when to come back.
//!
//! A Space on ZeroGPU hardware refuses work when the caller's GPU quota is
//! spent ("You have exceeded your GPU quota (60s requested vs. 56s left).
//! Try again in 0:03:12") or when no GPU is free ("No GPU was available").
//! Both arrive as the app's error text. Reading the wait out of it lets the
//! call wait and submit again, or tell the client exactly when to retry.

use std::time::Duration;

/// Why a ZeroGPU Space refused, and when it may take the work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GpuRefusal {
    /// The caller's quota is spent; it refills after `wait` (when the Space
    /// says so).
    Quota { wait: Option<Duration> },
    /// No GPU was free: worth another try shortly.
    Busy,
}

/// How long to wait after "No GPU was available", which names no time.
pub(crate) const BUSY_WAIT: Duration = Duration::from_secs(30);

impl GpuRefusal {
    /// What the app's error text says, if it is a ZeroGPU refusal.
    pub(crate) fn of(message: &str) -> Option<GpuRefusal> {
        let lower = message.to_ascii_lowercase();
        if lower.contains("gpu quota") {
            return Some(GpuRefusal::Quota {
                wait: try_again_in(&lower),
            });
        }
        if lower.contains("no gpu was available") || lower.contains("no gpu is currently available")
        {
            return Some(GpuRefusal::Busy);
        }
        None
    }

    /// When to try again: the Space's own word, or [`BUSY_WAIT`].
    pub(crate) fn retry_after(self) -> Option<Duration> {
        match self {
            GpuRefusal::Quota { wait } => wait,
            GpuRefusal::Busy => Some(BUSY_WAIT),
        }
    }
}

/// The wait in "try again in H:MM:SS" (or "M:SS", or "N seconds").
fn try_again_in(lower: &str) -> Option<Duration> {
    let at = lower.find("try again in")? + "try again in".len();
    let rest = lower[at..].trim_start();
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == ':'))
        .unwrap_or(rest.len());
    let clock = &rest[..end];
    if clock.is_empty() {
        return None;
    }
    if !clock.contains(':') {
        // "Try again in 90 seconds" (or minutes).
        let n: u64 = clock.parse().ok()?;
        let unit = rest[end..].trim_start();
        let seconds = if unit.starts_with("min") {
            n.checked_mul(60)?
        } else if unit.starts_with("hour") {
            n.checked_mul(3600)?
        } else {
            n
        };
        return Some(Duration::from_secs(seconds));
    }
    let mut seconds: u64 = 0;
    let parts: Vec<&str> = clock.split(':').collect();
    if parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
        return None;
    }
    for part in parts {
        seconds = seconds.checked_mul(60)?.checked_add(part.parse().ok()?)?;
    }
    Some(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zerogpu_refusals_are_read_for_their_wait() {
        let quota =
            "You have exceeded your GPU quota (60s requested vs. 56s left). Try again in 0:03:12";
        assert_eq!(
            GpuRefusal::of(quota),
            Some(GpuRefusal::Quota {
                wait: Some(Duration::from_secs(192))
            })
        );
        assert_eq!(
            GpuRefusal::of("You have exceeded your free GPU quota (120s requested vs. 0s left). Try again in 23:59:59.")
                .and_then(GpuRefusal::retry_after),
            Some(Duration::from_secs(86_399))
        );
        assert_eq!(
            GpuRefusal::of("GPU quota exceeded. Try again in 90 seconds")
                .and_then(GpuRefusal::retry_after),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            GpuRefusal::of("You have exceeded your GPU quota."),
            Some(GpuRefusal::Quota { wait: None })
        );
        assert_eq!(
            GpuRefusal::of("No GPU was available"),
            Some(GpuRefusal::Busy)
        );
        assert_eq!(GpuRefusal::of("Text input cannot be empty."), None);
        assert_eq!(
            GpuRefusal::of("GPU quota; try again in 1:2:3:4"),
            Some(GpuRefusal::Quota { wait: None })
        );
    }
}

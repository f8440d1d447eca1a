//! Each Space's call slots: at most `space_concurrency` calls run on one
//! Space at once, the rest wait in arrival order and are told their place in
//! line as it changes.
//!
//! The line is an explicit list of waiting tickets. A waiter that gives up
//! (its call was cancelled or timed out) leaves the list, so the places
//! reported to those behind it stay true.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{Semaphore, SemaphorePermit, watch};

use super::{Observer, Stage};

pub(crate) struct Slots {
    semaphore: Semaphore,
    /// Tickets of the calls waiting, first in line first.
    line: Mutex<VecDeque<u64>>,
    next_ticket: AtomicU64,
    /// Bumped whenever the line changes, so waiters recompute their place.
    changed: watch::Sender<u64>,
}

impl Slots {
    pub(crate) fn new(concurrency: usize) -> Slots {
        Slots {
            semaphore: Semaphore::new(concurrency.max(1)),
            line: Mutex::default(),
            next_ticket: AtomicU64::new(0),
            changed: watch::Sender::new(0),
        }
    }

    /// Waits for a slot, reporting the place in line (1: next) whenever it
    /// changes. The semaphore is fair, so slots go in arrival order.
    pub(crate) async fn acquire(&self, observe: Observer<'_>) -> Option<SemaphorePermit<'_>> {
        if let Ok(permit) = self.semaphore.try_acquire() {
            return Some(permit);
        }
        let ticket = self.next_ticket.fetch_add(1, Ordering::SeqCst);
        let mut changed = self.changed.subscribe();
        self.lock().push_back(ticket);
        // Leaves the line however this future ends: served, cancelled, timed out.
        let _in_line = InLine {
            slots: self,
            ticket,
        };
        let acquire = self.semaphore.acquire();
        tokio::pin!(acquire);
        let mut reported = None;
        loop {
            changed.borrow_and_update();
            let position = self.position(ticket);
            if reported != Some(position) {
                observe(Stage::WaitingForSlot { position });
                reported = Some(position);
            }
            tokio::select! {
                permit = &mut acquire => return permit.ok(),
                result = changed.changed() => if result.is_err() { return None },
            }
        }
    }

    fn position(&self, ticket: u64) -> u64 {
        let line = self.lock();
        line.iter().position(|&t| t == ticket).unwrap_or(0) as u64 + 1
    }

    /// Calls waiting now.
    #[cfg(test)]
    fn waiting(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<u64>> {
        self.line.lock().unwrap_or_else(|p| p.into_inner())
    }
}

struct InLine<'a> {
    slots: &'a Slots,
    ticket: u64,
}

impl Drop for InLine<'_> {
    fn drop(&mut self) {
        self.slots.lock().retain(|&t| t != self.ticket);
        self.slots.changed.send_modify(|n| *n += 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    type Seen = Arc<Mutex<Vec<u64>>>;

    fn positions() -> (Seen, impl Fn(Stage) + Send + Sync + 'static) {
        let seen: Seen = Arc::default();
        let sink = seen.clone();
        (seen, move |stage| {
            if let Stage::WaitingForSlot { position } = stage {
                sink.lock().unwrap().push(position);
            }
        })
    }

    #[tokio::test]
    async fn places_stay_true_when_a_waiter_gives_up() {
        let slots = Arc::new(Slots::new(1));
        let held = slots.semaphore.try_acquire().unwrap();
        let spawn_waiter = |observe: Box<dyn Fn(Stage) + Send + Sync>| {
            let slots = slots.clone();
            tokio::spawn(async move { slots.acquire(&*observe).await.is_some() })
        };
        let (_, a) = positions();
        let waiter_a = spawn_waiter(Box::new(a));
        while slots.waiting() < 1 {
            tokio::task::yield_now().await;
        }
        let (_, b) = positions();
        let waiter_b = spawn_waiter(Box::new(b));
        while slots.waiting() < 2 {
            tokio::task::yield_now().await;
        }
        let (seen_c, c) = positions();
        let waiter_c = spawn_waiter(Box::new(c));
        while slots.waiting() < 3 {
            tokio::task::yield_now().await;
        }
        // B gives up (its call was cancelled): C moves up to second.
        waiter_b.abort();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while seen_c.lock().unwrap().last() != Some(&2) && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(*seen_c.lock().unwrap(), [3, 2]);
        drop(held);
        assert!(waiter_a.await.unwrap());
        assert!(waiter_c.await.unwrap());
        assert_eq!(slots.waiting(), 0);

        // A later call that must wait is first in line, not behind ghosts.
        let held = slots.semaphore.try_acquire().unwrap();
        let (seen_d, d) = positions();
        let waiter_d = spawn_waiter(Box::new(d));
        while seen_d.lock().unwrap().is_empty() {
            tokio::task::yield_now().await;
        }
        assert_eq!(*seen_d.lock().unwrap(), [1]);
        drop(held);
        assert!(waiter_d.await.unwrap());
    }

    #[tokio::test]
    async fn a_free_slot_is_taken_at_once() {
        let slots = Slots::new(2);
        let (seen, observe) = positions();
        let a = slots.acquire(&observe).await;
        let b = slots.acquire(&observe).await;
        assert!(a.is_some() && b.is_some());
        assert!(seen.lock().unwrap().is_empty());
    }
}

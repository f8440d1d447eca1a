//! Each Space's call slots: at most `space_concurrency` calls run on one
//! Space at once, the rest wait in line and are told their place as it
//! changes.
//!
//! The line is fair between callers, and in arrival order within each: a
//! caller's calls take turns with everyone else's (round-robin, as in
//! start-time fair queuing), so one caller with two hundred calls in line
//! does not keep another's single call waiting behind all of them. A call's
//! turn is the moment its request arrived, stamped by the transport while
//! messages are still read one by one (once handlers run, tokio may start
//! the last spawned first). A waiter that gives up (cancelled, timed out)
//! leaves the line, so the places reported to those behind it stay true.
//!
//! No caller may hold more than its share of a Space's slots
//! ([`SlotLimits::per_caller`], over HTTP): a caller whose long jobs hold
//! its share waits even when a slot is free, so the slot is there for the
//! next caller's call the moment it arrives, and its waiters step aside for
//! those behind them who are within their share.
//!
//! Holding a slot is not yet reaching the Space: a call still reads the
//! Space's description, checks its arguments and uploads its files. So that
//! the Space sees events in the order the calls came, a holder submits its event
//! only when no holder with an earlier turn is still to submit.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use futures_util::future::BoxFuture;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::watch;

use super::{Observer, Stage};

/// Slots shared with other processes (a fleet's), taken after one of this
/// process's own: `space_concurrency` then holds across every replica. The
/// implementation lives below no layer that knows Gradio (the fleet store);
/// this trait is all a Space client knows of it.
pub(crate) trait SharedSlots: Send + Sync {
    /// Waits for one of `limit` slots of `space`, telling `place` the place
    /// in the fleet's line (1: next) whenever it changes.
    fn acquire<'a>(
        &'a self,
        space: &'a str,
        limits: SlotLimits,
        caller: &'a str,
        place: &'a (dyn Fn(u64) + Send + Sync),
    ) -> BoxFuture<'a, Result<SharedSlot, SharedSlotsError>>;
}

/// How many of a Space's calls may run at once: in all, and for one caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SlotLimits {
    /// `space_concurrency`.
    pub(crate) per_space: usize,
    /// `slots_per_caller`: `None` where there is only one caller (stdio, the
    /// command line), where a share would only hold that caller back.
    pub(crate) per_caller: Option<usize>,
}

impl SlotLimits {
    /// `per_space` slots, all of them for whoever asks.
    pub(crate) fn unshared(per_space: usize) -> SlotLimits {
        SlotLimits {
            per_space: per_space.max(1),
            per_caller: None,
        }
    }

    /// Whether a caller holding `held` slots may take one more.
    fn allows(&self, held: usize) -> bool {
        self.per_caller.is_none_or(|share| held < share.max(1))
    }
}

/// A held shared slot: free again (for the whole fleet) when dropped.
pub(crate) struct SharedSlot(#[allow(dead_code)] Box<dyn Send + Sync>);

impl SharedSlot {
    pub(crate) fn new(guard: impl Send + Sync + 'static) -> SharedSlot {
        SharedSlot(Box::new(guard))
    }
}

/// Why no shared slot could be had (the shared store is away).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct SharedSlotsError(pub(crate) String);

/// The shared slots, if this process is one of a fleet.
pub(crate) type Shared = Option<Arc<dyn SharedSlots>>;

/// A call's place in the order of its caller's calls: its arrival stamp
/// (when it has one), then a number that makes it unique.
type Turn = (u64, u64);

/// Who asks for a slot, and when the request arrived.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket<'a> {
    /// The arrival stamp (see `server::Arrival`); `None`: now.
    pub(crate) arrival: Option<u64>,
    /// Whose call it is (an opaque key: calls of one key take turns with
    /// those of the others).
    pub(crate) caller: &'a str,
}

impl Ticket<'_> {
    /// A ticket of one anonymous caller arriving now (tests, the CLI).
    #[cfg(test)]
    pub(crate) const NOW: Ticket<'static> = Ticket {
        arrival: None,
        caller: "",
    };
}

pub(crate) struct Slots {
    state: Mutex<State>,
    /// Bumped on every change, so waiters look again.
    changed: watch::Sender<u64>,
    next: AtomicU64,
}

struct State {
    free: usize,
    limits: SlotLimits,
    /// Slots held now, by caller.
    holding: HashMap<Arc<str>, usize>,
    /// The calls in line, and whose each is.
    waiting: BTreeMap<Turn, Arc<str>>,
    /// Holders that have not submitted their event yet.
    unsubmitted: BTreeSet<Turn>,
    /// The round of the last call served (virtual time).
    round: u64,
    /// Per caller, the first round its next call may have: one past the
    /// round of its last call served. Callers at or below `round` are
    /// forgotten (they start at `round` anyway).
    next_round: HashMap<Arc<str>, u64>,
}

impl State {
    /// Where a waiter stands: its round (its caller's next round, or now,
    /// plus the number of its caller's calls ahead of it), then its turn.
    fn key(&self, turn: Turn) -> Option<(u64, Turn)> {
        let caller = self.waiting.get(&turn)?;
        let base = self
            .next_round
            .get(caller)
            .copied()
            .unwrap_or(0)
            .max(self.round);
        let rank = self
            .waiting
            .range(..turn)
            .filter(|(_, c)| *c == caller)
            .count() as u64;
        Some((base + rank, turn))
    }

    /// How many waiters would be served before `turn`: those before it in
    /// line, but for any whose caller would by then hold its share.
    fn ahead(&self, turn: Turn) -> usize {
        let Some(mine) = self.key(turn) else {
            return 0;
        };
        let mut ranks: HashMap<&str, u64> = HashMap::new();
        let mut before: Vec<((u64, Turn), &str)> = self
            .waiting
            .iter()
            .filter_map(|(other, caller)| {
                let rank = ranks.entry(caller).or_default();
                let base = self
                    .next_round
                    .get(&**caller)
                    .copied()
                    .unwrap_or(0)
                    .max(self.round);
                let key = (base + *rank, *other);
                *rank += 1;
                (key < mine).then_some((key, &**caller))
            })
            .collect();
        before.sort_unstable();
        let mut served: HashMap<&str, usize> = HashMap::new();
        before
            .into_iter()
            .filter(|(_, caller)| {
                let held = served.entry(caller).or_insert_with(|| self.held_by(caller));
                let takes = self.limits.allows(*held);
                *held += usize::from(takes);
                takes
            })
            .count()
    }

    /// Slots `caller` holds now.
    fn held_by(&self, caller: &str) -> usize {
        self.holding.get(caller).copied().unwrap_or(0)
    }

    /// `turn` is served: its caller's next call waits a round more.
    fn serve(&mut self, turn: Turn) {
        if let Some((round, _)) = self.key(turn) {
            self.round = round;
            if let Some(caller) = self.waiting.get(&turn).cloned() {
                self.next_round.insert(caller, round + 1);
            }
            let now = self.round;
            self.next_round.retain(|_, next| *next > now);
        }
        self.waiting.remove(&turn);
    }
}

impl Slots {
    pub(crate) fn new(limits: SlotLimits) -> Slots {
        Slots {
            state: Mutex::new(State {
                free: limits.per_space.max(1),
                limits,
                holding: HashMap::new(),
                waiting: BTreeMap::new(),
                unsubmitted: BTreeSet::new(),
                round: 0,
                next_round: HashMap::new(),
            }),
            changed: watch::Sender::new(0),
            next: AtomicU64::new(0),
        }
    }

    /// Waits for a slot, in turn (fair between callers; within one, by
    /// arrival), reporting the place in line (1: next) whenever it changes.
    pub(crate) async fn acquire(&self, observe: Observer<'_>, ticket: Ticket<'_>) -> Held<'_> {
        let unique = self.next.fetch_add(1, Ordering::SeqCst);
        let turn = (ticket.arrival.unwrap_or(u64::MAX), unique);
        let mut changed = self.changed.subscribe();
        let mut in_line: Option<InLine<'_>> = None;
        let mut reported = None;
        loop {
            changed.borrow_and_update();
            {
                let mut state = self.lock();
                if in_line.is_none() {
                    state.waiting.insert(turn, Arc::from(ticket.caller));
                    in_line = Some(InLine { slots: self, turn });
                }
                let ahead = state.ahead(turn);
                let caller: Arc<str> = Arc::from(ticket.caller);
                let within_share = state.limits.allows(state.held_by(&caller));
                if state.free > 0 && ahead == 0 && within_share {
                    state.free -= 1;
                    state.serve(turn);
                    state.unsubmitted.insert(turn);
                    *state.holding.entry(caller.clone()).or_default() += 1;
                    drop(state);
                    if let Some(in_line) = in_line.take() {
                        std::mem::forget(in_line);
                    }
                    self.bump();
                    return Held {
                        slots: self,
                        turn,
                        caller,
                    };
                }
                let position = ahead as u64 + 1;
                if reported != Some(position) {
                    drop(state);
                    observe(Stage::WaitingForSlot { position });
                    reported = Some(position);
                }
            }
            if changed.changed().await.is_err() {
                // Never: the sender lives as long as `self`.
                continue;
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        crate::locks::lock(&self.state)
    }

    fn bump(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Calls waiting now.
    #[cfg(test)]
    fn waiting(&self) -> usize {
        self.lock().waiting.len()
    }
}

/// A place in line; left when the waiter goes away without a slot.
struct InLine<'a> {
    slots: &'a Slots,
    turn: Turn,
}

impl Drop for InLine<'_> {
    fn drop(&mut self) {
        self.slots.lock().waiting.remove(&self.turn);
        self.slots.bump();
    }
}

/// A held slot; free again when dropped.
pub(crate) struct Held<'a> {
    slots: &'a Slots,
    turn: Turn,
    caller: Arc<str>,
}

impl Held<'_> {
    /// Waits until every holder with an earlier turn has submitted its event.
    pub(crate) async fn wait_turn(&self) {
        let mut changed = self.slots.changed.subscribe();
        loop {
            changed.borrow_and_update();
            if self
                .slots
                .lock()
                .unsubmitted
                .range(..self.turn)
                .next()
                .is_none()
            {
                return;
            }
            if changed.changed().await.is_err() {
                return;
            }
        }
    }

    /// This holder's event has reached the Space (or never will): later ones may go.
    pub(crate) fn submitted(&self) {
        if self.slots.lock().unsubmitted.remove(&self.turn) {
            self.slots.bump();
        }
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        {
            let mut state = self.slots.lock();
            state.unsubmitted.remove(&self.turn);
            state.free += 1;
            if let Some(held) = state.holding.get_mut(&self.caller) {
                *held -= 1;
                if *held == 0 {
                    state.holding.remove(&self.caller);
                }
            }
        }
        self.slots.bump();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    type Seen = Arc<Mutex<Vec<u64>>>;

    fn at(arrival: u64) -> Ticket<'static> {
        Ticket {
            arrival: Some(arrival),
            caller: "one caller",
        }
    }

    fn positions() -> (Seen, impl Fn(Stage) + Send + Sync + 'static) {
        let seen: Seen = Arc::default();
        let sink = seen.clone();
        (seen, move |stage| {
            if let Stage::WaitingForSlot { position } = stage {
                sink.lock().unwrap().push(position);
            }
        })
    }

    async fn until(what: impl Fn() -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while !what() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        assert!(what(), "never happened");
    }

    fn waiter(
        slots: &Arc<Slots>,
        arrival: u64,
        observe: Box<dyn Fn(Stage) + Send + Sync>,
        order: Arc<Mutex<Vec<u64>>>,
    ) -> tokio::task::JoinHandle<()> {
        let slots = slots.clone();
        tokio::spawn(async move {
            let held = slots.acquire(&*observe, at(arrival)).await;
            order.lock().unwrap().push(arrival);
            held.submitted();
        })
    }

    #[tokio::test]
    async fn places_stay_true_when_a_waiter_gives_up() {
        let slots = Arc::new(Slots::new(SlotLimits::unshared(1)));
        let order: Arc<Mutex<Vec<u64>>> = Arc::default();
        let held = slots.acquire(&|_| {}, at(0)).await;
        let (_, a) = positions();
        let waiter_a = waiter(&slots, 1, Box::new(a), order.clone());
        until(|| slots.waiting() == 1).await;
        let (_, b) = positions();
        let waiter_b = waiter(&slots, 2, Box::new(b), order.clone());
        until(|| slots.waiting() == 2).await;
        let (seen_c, c) = positions();
        let waiter_c = waiter(&slots, 3, Box::new(c), order.clone());
        until(|| slots.waiting() == 3).await;
        // B gives up (its call was cancelled): C moves up to second.
        waiter_b.abort();
        until(|| seen_c.lock().unwrap().last() == Some(&2)).await;
        assert_eq!(*seen_c.lock().unwrap(), [3, 2]);
        drop(held);
        waiter_a.await.unwrap();
        waiter_c.await.unwrap();
        assert_eq!(*order.lock().unwrap(), [1, 3]);
        assert_eq!(slots.waiting(), 0);

        // A later call that must wait is first in line, not behind ghosts.
        let held = slots.acquire(&|_| {}, at(4)).await;
        let (seen_d, d) = positions();
        let waiter_d = waiter(&slots, 5, Box::new(d), order.clone());
        until(|| !seen_d.lock().unwrap().is_empty()).await;
        assert_eq!(*seen_d.lock().unwrap(), [1]);
        drop(held);
        waiter_d.await.unwrap();
    }

    #[tokio::test]
    async fn the_line_goes_by_arrival_not_by_who_asked_first() {
        let slots = Arc::new(Slots::new(SlotLimits::unshared(1)));
        let order: Arc<Mutex<Vec<u64>>> = Arc::default();
        let held = slots.acquire(&|_| {}, at(0)).await;
        // Arrival 2 asks first, arrival 1 a moment later (as tokio may run them).
        let late = waiter(&slots, 2, Box::new(|_| {}), order.clone());
        until(|| slots.waiting() == 1).await;
        let early = waiter(&slots, 1, Box::new(|_| {}), order.clone());
        until(|| slots.waiting() == 2).await;
        drop(held);
        late.await.unwrap();
        early.await.unwrap();
        assert_eq!(*order.lock().unwrap(), [1, 2]);
    }

    #[tokio::test]
    async fn callers_take_turns_however_many_calls_one_has_in_line() {
        let slots = Arc::new(Slots::new(SlotLimits::unshared(1)));
        let order: Arc<Mutex<Vec<String>>> = Arc::default();
        let held = slots.acquire(&|_| {}, at(0)).await;
        let mut waiters = Vec::new();
        let mut enqueue = |caller: &'static str, arrival: u64| {
            let (slots, order) = (slots.clone(), order.clone());
            waiters.push(tokio::spawn(async move {
                let ticket = Ticket {
                    arrival: Some(arrival),
                    caller,
                };
                let held = slots.acquire(&|_| {}, ticket).await;
                order.lock().unwrap().push(format!("{caller}{arrival}"));
                held.submitted();
            }));
        };
        for arrival in 1..=4 {
            enqueue("heavy", arrival);
        }
        until(|| slots.waiting() == 4).await;
        enqueue("light", 5);
        enqueue("light", 6);
        until(|| slots.waiting() == 6).await;
        drop(held);
        for waiter in waiters {
            waiter.await.unwrap();
        }
        assert_eq!(
            *order.lock().unwrap(),
            ["heavy1", "light5", "heavy2", "light6", "heavy3", "heavy4"]
        );
    }

    #[tokio::test]
    async fn holders_submit_in_turn() {
        let slots = Arc::new(Slots::new(SlotLimits::unshared(4)));
        let first = slots.acquire(&|_| {}, at(1)).await;
        let second = slots.acquire(&|_| {}, at(2)).await;
        let third = slots.clone();
        let waiting = tokio::spawn(async move {
            let held = third.acquire(&|_| {}, at(3)).await;
            held.wait_turn().await;
        });
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert!(!waiting.is_finished());
        first.submitted();
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert!(!waiting.is_finished(), "the second has not submitted yet");
        drop(second); // gave up before submitting
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn a_caller_past_its_share_leaves_the_free_slot_to_others() {
        let slots = Arc::new(Slots::new(SlotLimits {
            per_space: 3,
            per_caller: Some(2),
        }));
        let heavy = |arrival| Ticket {
            arrival: Some(arrival),
            caller: "heavy",
        };
        let first = slots.acquire(&|_| {}, heavy(1)).await;
        let _second = slots.acquire(&|_| {}, heavy(2)).await;
        // Heavy's third waits though a slot is free, first in line...
        let third_slots = slots.clone();
        let third = tokio::spawn(async move {
            let _held = third_slots.acquire(&|_| {}, heavy(3)).await;
        });
        until(|| slots.waiting() == 1).await;
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert!(!third.is_finished(), "a caller took more than its share");
        // ...and light's call, behind it, takes the free slot at once.
        let (seen, observe) = positions();
        let light = tokio::time::timeout(
            Duration::from_secs(1),
            slots.acquire(
                &observe,
                Ticket {
                    arrival: Some(4),
                    caller: "light",
                },
            ),
        )
        .await
        .expect("the other caller waited for the heavy one");
        assert!(seen.lock().unwrap().is_empty(), "it was put in line");
        // Heavy's third starts once heavy holds less than its share again,
        // here when its first ends (light's slot stays light's).
        drop(first);
        tokio::time::timeout(Duration::from_secs(5), third)
            .await
            .unwrap()
            .unwrap();
        drop(light);
    }

    #[tokio::test]
    async fn without_a_share_one_caller_may_take_every_slot() {
        let slots = Slots::new(SlotLimits::unshared(2));
        let (seen, observe) = positions();
        let _a = slots.acquire(&observe, at(1)).await;
        let _b = slots.acquire(&observe, at(2)).await;
        assert!(seen.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_free_slot_is_taken_at_once() {
        let slots = Slots::new(SlotLimits::unshared(2));
        let (seen, observe) = positions();
        let _a = slots.acquire(&observe, Ticket::NOW).await;
        let _b = slots.acquire(&observe, Ticket::NOW).await;
        assert!(seen.lock().unwrap().is_empty());
    }
}

//! Each Space's call slots across the fleet: a semaphore in Valkey/Redis
//! with leases, so that `space_concurrency` holds for all replicas together
//! and a crashed replica's slots come back when their leases lapse.
//!
//! A Space has a sorted set of holders (scored by lease expiry), a line of
//! waiters (scored by ticket, so the fleet serves them in the order they
//! joined) and the waiters' own leases (a waiter that vanished leaves the
//! line). One script does a whole attempt; a waiter tries again once enough
//! slots of the Space were freed (`freed` messages, from any replica) to
//! reach its place, and at least every third of a lease, which also keeps
//! its place alive.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use futures_util::future::{BoxFuture, FutureExt};
use tokio::sync::broadcast;

use super::{Fleet, channel};
use crate::gradio::{SharedSlot, SharedSlots, SharedSlotsError, SlotLimits};

/// One attempt to take a slot.
/// KEYS: holders, line, waiters' leases, ticket counter.
/// ARGV: me (`caller|id`), lease ms, limit, share per caller (0: none), caller.
/// Returns 0 when `me` holds a slot, else its place in line (1: next).
/// The place counts only the waiters ahead that would be served: one whose
/// caller would by then hold its share steps aside.
const ACQUIRE: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[2])
local share = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local gone = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
for _, w in ipairs(gone) do
  redis.call('ZREM', KEYS[2], w)
  redis.call('ZREM', KEYS[3], w)
end
for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], 86400000) end
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
  return 0
end
if not redis.call('ZSCORE', KEYS[2], ARGV[1]) then
  redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[4]), ARGV[1])
end
local function caller_of(m) return string.match(m, '^(.*)|') or '' end
local holding = {}
for _, h in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local c = caller_of(h)
  holding[c] = (holding[c] or 0) + 1
end
local function takes(c)
  local n = holding[c] or 0
  if share > 0 and n >= share then return false end
  holding[c] = n + 1
  return true
end
local rank = redis.call('ZRANK', KEYS[2], ARGV[1])
local ahead = 0
if rank > 0 then
  for _, w in ipairs(redis.call('ZRANGE', KEYS[2], 0, rank - 1)) do
    if takes(caller_of(w)) then ahead = ahead + 1 end
  end
end
local free = tonumber(ARGV[3]) - redis.call('ZCARD', KEYS[1])
if ahead < free and takes(ARGV[5]) then
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[3], ARGV[1])
  redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
  return 0
end
redis.call('ZADD', KEYS[3], now + lease, ARGV[1])
return math.max(ahead - math.max(free, 0) + 1, 1)
"#;

/// Renews the leases of this replica's holders of one Space.
/// KEYS: holders. ARGV: lease ms, then the holders.
const RENEW: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[i])
end
return #ARGV - 1
"#;

pub(crate) struct FleetSlots {
    fleet: Arc<Fleet>,
    /// Slots this replica holds now: (Space, holder id) → how many times
    /// (always 1; a map to find them per Space).
    held: Arc<Mutex<HashMap<String, Vec<String>>>>,
    acquire: redis::Script,
    renew: redis::Script,
}

impl FleetSlots {
    pub(crate) fn new(fleet: Arc<Fleet>) -> Arc<FleetSlots> {
        let line = Arc::new(FleetSlots {
            fleet,
            held: Arc::default(),
            acquire: redis::Script::new(ACQUIRE),
            renew: redis::Script::new(RENEW),
        });
        tokio::spawn(renewing(Arc::downgrade(&line)));
        line
    }

    fn held(&self) -> MutexGuard<'_, HashMap<String, Vec<String>>> {
        crate::locks::lock(&self.held)
    }

    fn keys(&self, space: &str) -> [String; 4] {
        ["holders", "line", "waiting", "tickets"].map(|k| self.fleet.key(&["slots", space, k]))
    }

    /// One attempt: 0 when held, else the place in line.
    async fn attempt(
        &self,
        space: &str,
        (me, caller): (&str, &str),
        limits: SlotLimits,
    ) -> Result<u64, SharedSlotsError> {
        let mut invocation = self.acquire.prepare_invoke();
        for key in self.keys(space) {
            invocation.key(key);
        }
        invocation
            .arg(me)
            .arg(self.fleet.lease().as_millis() as u64)
            .arg(limits.per_space)
            .arg(limits.per_caller.unwrap_or(0))
            .arg(caller);
        self.fleet
            .script(&invocation)
            .await
            .map_err(|e| SharedSlotsError(e.to_string()))
    }

    async fn renew_all(&self) -> Result<(), super::FleetError> {
        let held: Vec<(String, Vec<String>)> = self
            .held()
            .iter()
            .filter(|(_, holders)| !holders.is_empty())
            .map(|(space, holders)| (space.clone(), holders.clone()))
            .collect();
        for (space, holders) in held {
            let mut invocation = self.renew.prepare_invoke();
            invocation
                .key(self.keys(&space)[0].clone())
                .arg(self.fleet.lease().as_millis() as u64);
            for holder in &holders {
                invocation.arg(holder);
            }
            let _: i64 = self.fleet.script(&invocation).await?;
        }
        Ok(())
    }
}

impl SharedSlots for FleetSlots {
    fn acquire<'a>(
        &'a self,
        space: &'a str,
        limits: SlotLimits,
        caller: &'a str,
        place: &'a (dyn Fn(u64) + Send + Sync),
    ) -> BoxFuture<'a, Result<SharedSlot, SharedSlotsError>> {
        async move {
            // The caller leads the name, so the store can count its holders.
            let me = format!("{caller}|{}/{}", self.fleet.replica(), uuid::Uuid::new_v4());
            let mut freed = self.fleet.messages();
            // Until the slot is held, dropping this (the call gave up) takes
            // the waiter out of the line.
            let mut leaving = Leave {
                line: Some(self),
                space,
                me: &me,
            };
            let mut reported = None;
            // A waiter tries again when enough slots were freed to reach its
            // place (not on every free: a long line would storm the store),
            // and at least every third of a lease, which also keeps its place.
            let keep_alive = self.fleet.lease() / 3;
            loop {
                let position = self.attempt(space, (&me, caller), limits).await?;
                if position == 0 {
                    leaving.line = None;
                    self.held()
                        .entry(space.to_string())
                        .or_default()
                        .push(me.clone());
                    return Ok(SharedSlot::new(Release {
                        line: Arc::downgrade(&self.held),
                        fleet: self.fleet.clone(),
                        space: space.to_string(),
                        me: me.clone(),
                        keys: self.keys(space),
                    }));
                }
                if reported != Some(position) {
                    place(position);
                    reported = Some(position);
                }
                let _ = tokio::time::timeout(keep_alive, async {
                    let mut frees = 0;
                    loop {
                        match freed.recv().await {
                            Ok((name, payload)) if name == channel::FREED && payload == space => {
                                frees += 1;
                                if frees >= position {
                                    return;
                                }
                            }
                            Ok(_) => continue,
                            Err(broadcast::error::RecvError::Lagged(_)) => return,
                            Err(broadcast::error::RecvError::Closed) => {
                                std::future::pending::<()>().await
                            }
                        }
                    }
                })
                .await;
            }
        }
        .boxed()
    }
}

/// Takes a waiter that gave up out of the line.
struct Leave<'a> {
    line: Option<&'a FleetSlots>,
    space: &'a str,
    me: &'a str,
}

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        let Some(line) = self.line else { return };
        let keys = line.keys(self.space);
        let fleet = line.fleet.clone();
        let me = self.me.to_string();
        let space = self.space.to_string();
        spawn(async move {
            if let Err(e) = leave(&fleet, &space, &me, &[&keys[1], &keys[2]]).await {
                tracing::debug!("a waiter's place was not given up (its lease will lapse): {e}");
            }
        });
    }
}

/// Takes `me` out of `sets` (the holders, or the line), and tells every
/// replica that those behind it may move up.
async fn leave(
    fleet: &Fleet,
    space: &str,
    me: &str,
    sets: &[&str],
) -> Result<(), super::FleetError> {
    let mut pipe = redis::pipe();
    for set in sets {
        pipe.cmd("ZREM").arg(*set).arg(me).ignore();
    }
    pipe.cmd("PUBLISH")
        .arg(fleet.key(&[channel::FREED]))
        .arg(space)
        .ignore();
    fleet.pipeline(&pipe).await
}

/// A held slot of the fleet; freed for every replica when dropped.
struct Release {
    line: Weak<Mutex<HashMap<String, Vec<String>>>>,
    fleet: Arc<Fleet>,
    space: String,
    me: String,
    keys: [String; 4],
}

impl Drop for Release {
    fn drop(&mut self) {
        if let Some(held) = self.line.upgrade() {
            let mut held = crate::locks::lock(&held);
            if let Some(holders) = held.get_mut(&self.space) {
                holders.retain(|h| h != &self.me);
                if holders.is_empty() {
                    held.remove(&self.space);
                }
            }
        }
        let fleet = self.fleet.clone();
        let holders = self.keys[0].clone();
        let me = std::mem::take(&mut self.me);
        let space = std::mem::take(&mut self.space);
        spawn(async move {
            if let Err(e) = leave(&fleet, &space, &me, &[&holders]).await {
                tracing::warn!(
                    space,
                    "a fleet slot was not freed (its lease will lapse): {e}"
                );
            }
        });
    }
}

/// Runs `work` on the current runtime, if there still is one (a drop while
/// the process shuts down has nothing left to tell).
fn spawn(work: impl std::future::Future<Output = ()> + Send + 'static) {
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(work);
    }
}

/// Renews this replica's slots every third of a lease.
async fn renewing(line: Weak<FleetSlots>) {
    let Some(lease) = line.upgrade().map(|l| l.fleet.lease()) else {
        return;
    };
    let mut tick = tokio::time::interval(lease / 3);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(line) = line.upgrade() else { return };
        if let Err(e) = line.renew_all().await {
            tracing::debug!("fleet slots not renewed: {e}");
        }
    }
}

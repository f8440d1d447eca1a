//! One client per Space, made on first use and shared by every call to it,
//! and the count of cancel requests still on their way to Spaces (a server
//! shutting down waits for them, so the events it leaves behind stop).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use url::Url;

use super::slots::{Shared, SlotLimits};
use super::{GradioError, Login, SpaceClient, SpaceRef};

/// A Space's address and Hub id (one URL may front different Hub ids).
type PoolKey = (Url, Option<String>);

/// The clients of every Space in use.
pub(crate) struct SpacePool {
    clients: Mutex<HashMap<PoolKey, Arc<SpaceClient>>>,
    /// Calls each Space may have running at once, in all and per caller.
    limits: SlotLimits,
    /// A fleet's shared slots, which every client takes after its own.
    shared: Shared,
    cancels: Arc<CancelsInFlight>,
    /// The logins of apps launched with `auth=...`, by their address.
    logins: Mutex<HashMap<Url, Login>>,
}

/// Cancel requests sent and not yet answered.
#[derive(Default)]
pub(crate) struct CancelsInFlight(AtomicUsize);

impl CancelsInFlight {
    pub(crate) fn start(self: &Arc<Self>) -> CancelInFlight {
        self.0.fetch_add(1, Ordering::SeqCst);
        CancelInFlight(self.clone())
    }
}

/// One cancel on its way; counted until dropped.
pub(crate) struct CancelInFlight(Arc<CancelsInFlight>);

impl Drop for CancelInFlight {
    fn drop(&mut self) {
        self.0.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl SpacePool {
    pub(crate) fn new(concurrency: usize) -> SpacePool {
        SpacePool::with_shared(SlotLimits::unshared(concurrency), None)
    }

    /// A pool whose Spaces' slots are shared with a fleet.
    pub(crate) fn with_shared(limits: SlotLimits, shared: Shared) -> SpacePool {
        SpacePool {
            clients: Mutex::default(),
            limits,
            shared,
            cancels: Arc::default(),
            logins: Mutex::default(),
        }
    }

    /// The login for the app at `space`'s address, used by its client from
    /// its first request on.
    pub(crate) fn set_login(&self, space: &SpaceRef, login: Login) {
        crate::locks::lock(&self.logins).insert(space.base().clone(), login);
    }

    /// The one client for `space`, made now if this is the first call to it.
    pub(crate) fn client(&self, space: &SpaceRef) -> Result<Arc<SpaceClient>, GradioError> {
        let mut clients = crate::locks::lock(&self.clients);
        let key = (space.base().clone(), space.hub_id().map(str::to_string));
        if let Some(client) = clients.get(&key) {
            return Ok(client.clone());
        }
        let login = crate::locks::lock(&self.logins).get(space.base()).cloned();
        let client = Arc::new(SpaceClient::new(
            space.clone(),
            self.limits,
            self.shared.clone(),
            self.cancels.clone(),
            login,
        )?);
        clients.insert(key, client.clone());
        Ok(client)
    }

    /// Waits (at most `limit`) for the cancels still on their way.
    pub(crate) async fn flush_cancels(&self, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        while self.cancels.0.load(Ordering::SeqCst) > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

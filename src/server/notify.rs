//! Telling clients that a list changed, once, for every way a client hears:
//! the registry's tool and prompt changes and the saved files' changes as
//! one stream of [`ListChange`]s, which the handler fans out to every
//! session's peer and each 2026-07-28 `subscriptions/listen` stream reads.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::service::Peer;
use rmcp::{RoleServer, ServiceError};
use tokio::sync::watch;

use crate::call::Runner;

/// How long after files were saved clients hear `resources/list_changed`:
/// files come in bursts (a gallery, a busy minute), one notice a second at
/// most, sent once the burst has settled.
const RESOURCE_NOTICE_DELAY: Duration = Duration::from_secs(1);

/// Which list changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ListChange {
    Tools,
    Prompts,
    Resources,
}

/// The changes to come, from now on (what changed before is not repeated).
pub(super) struct ListChanges {
    tools: watch::Receiver<u64>,
    prompts: watch::Receiver<u64>,
    saved: watch::Receiver<u64>,
}

impl ListChanges {
    pub(super) fn of(runner: &Runner) -> ListChanges {
        let mut changes = ListChanges {
            tools: runner.registry().changes(),
            prompts: runner.registry().prompt_changes(),
            saved: runner.saved_changes(),
        };
        changes.tools.borrow_and_update();
        changes.prompts.borrow_and_update();
        changes.saved.borrow_and_update();
        changes
    }

    /// The next change; `None` once the server is gone. A tool change
    /// changes the prompts too (one per tool): both come, in turn.
    pub(super) async fn next(&mut self) -> Option<ListChange> {
        tokio::select! {
            changed = self.tools.changed() => changed.ok().map(|()| ListChange::Tools),
            changed = self.prompts.changed() => changed.ok().map(|()| ListChange::Prompts),
            changed = self.saved.changed() => {
                changed.ok()?;
                tokio::time::sleep(RESOURCE_NOTICE_DELAY).await;
                self.saved.borrow_and_update();
                Some(ListChange::Resources)
            }
        }
    }
}

/// Tells `peer` of `change`.
pub(super) async fn tell(peer: &Peer<RoleServer>, change: ListChange) -> Result<(), ServiceError> {
    match change {
        ListChange::Tools => peer.notify_tool_list_changed().await,
        ListChange::Prompts => peer.notify_prompt_list_changed().await,
        ListChange::Resources => peer.notify_resource_list_changed().await,
    }
}

/// The sessions' peers still connected.
fn live(peers: &Mutex<Vec<Peer<RoleServer>>>) -> Vec<Peer<RoleServer>> {
    let mut peers = crate::locks::lock(peers);
    peers.retain(|peer| !peer.is_transport_closed());
    peers.clone()
}

/// Tells every connected session of every list change, for as long as the
/// server lives.
pub(super) fn fan_out(runner: &Runner, peers: Arc<Mutex<Vec<Peer<RoleServer>>>>) {
    let mut changes = ListChanges::of(runner);
    tokio::spawn(async move {
        while let Some(change) = changes.next().await {
            for peer in live(&peers) {
                if let Err(e) = tell(&peer, change).await {
                    tracing::debug!(?change, "list change not sent: {e}");
                }
            }
        }
    });
}

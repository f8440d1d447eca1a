//! Telling clients that a list changed, once, for every way a client hears:
//! the registry's tool and prompt changes and the saved files' changes as
//! one stream of [`Heard`] changes, which the handler fans out to every
//! session's peer and each 2026-07-28 `subscriptions/listen` stream reads.
//!
//! Tools and prompts are everyone's; saved files are their owner's. A
//! change to one caller's files goes to that caller's sessions only: no
//! caller learns when another saved a file, and a busy caller's files do
//! not send messages to everyone else's (abandoned) sessions.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::service::Peer;
use rmcp::{RoleServer, ServiceError};
use tokio::sync::{broadcast, watch};

use crate::call::{FilesChanged, Runner};
use crate::jobs::Owner;

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

/// A change, and for saved files whose lists it touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Heard {
    pub(super) change: ListChange,
    /// The owners' folder names whose files changed; `None` when any may
    /// have (a listener fell behind and lost count).
    owners: Option<BTreeSet<Arc<str>>>,
}

impl Heard {
    /// Whether the caller whose folder is `folder` should hear of it.
    pub(super) fn concerns(&self, folder: &str) -> bool {
        match (&self.change, &self.owners) {
            (ListChange::Resources, Some(owners)) => owners.contains(folder),
            _ => true,
        }
    }
}

/// The changes to come, from now on (what changed before is not repeated).
pub(super) struct ListChanges {
    tools: watch::Receiver<u64>,
    prompts: watch::Receiver<u64>,
    saved: broadcast::Receiver<FilesChanged>,
    /// Only this owner's file changes (a listen stream's); `None`: everyone's.
    whose: Option<Arc<str>>,
}

impl ListChanges {
    /// Every change, for a fan-out that sorts them per peer.
    pub(super) fn of(runner: &Runner) -> ListChanges {
        let mut changes = ListChanges {
            tools: runner.registry().changes(),
            prompts: runner.registry().prompt_changes(),
            saved: runner.saved_changes(),
            whose: None,
        };
        changes.tools.borrow_and_update();
        changes.prompts.borrow_and_update();
        changes
    }

    /// The changes `owner` should hear of.
    pub(super) fn of_owner(runner: &Runner, owner: &Owner) -> ListChanges {
        ListChanges {
            whose: Some(owner.folder_name().into()),
            ..ListChanges::of(runner)
        }
    }

    fn wanted(&self, folder: &str) -> bool {
        self.whose.as_deref().is_none_or(|w| w == folder)
    }

    /// The next change; `None` once the server is gone. A tool change
    /// changes the prompts too (one per tool): both come, in turn.
    pub(super) async fn next(&mut self) -> Option<Heard> {
        let everyone = |change| Heard {
            change,
            owners: None,
        };
        loop {
            let first = tokio::select! {
                changed = self.tools.changed() => return changed.ok().map(|()| everyone(ListChange::Tools)),
                changed = self.prompts.changed() => return changed.ok().map(|()| everyone(ListChange::Prompts)),
                first = self.saved.recv() => first,
            };
            let mut owners = match first {
                Ok(FilesChanged(folder)) if self.wanted(&folder) => Some(BTreeSet::from([folder])),
                Ok(_) => continue,
                Err(broadcast::error::RecvError::Lagged(_)) => None,
                Err(broadcast::error::RecvError::Closed) => return None,
            };
            // The burst settles; what else came meanwhile goes in one notice.
            tokio::time::sleep(RESOURCE_NOTICE_DELAY).await;
            loop {
                match self.saved.try_recv() {
                    Ok(FilesChanged(folder)) => {
                        if self.wanted(&folder)
                            && let Some(owners) = owners.as_mut()
                        {
                            owners.insert(folder);
                        }
                    }
                    Err(broadcast::error::TryRecvError::Lagged(_)) => owners = None,
                    Err(_) => break,
                }
            }
            return Some(Heard {
                change: ListChange::Resources,
                owners,
            });
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

/// A session's peer, and the folder name of the caller whose session it is.
#[derive(Clone)]
pub(super) struct OwnedPeer {
    pub(super) folder: Arc<str>,
    pub(super) peer: Peer<RoleServer>,
}

/// The sessions' peers, by owner.
pub(super) type Peers = Arc<Mutex<Vec<OwnedPeer>>>;

/// Adds a session's peer (and forgets those whose transport closed).
pub(super) fn join(peers: &Peers, owner: &Owner, peer: Peer<RoleServer>) {
    let mut peers = crate::locks::lock(peers);
    peers.retain(|p| !p.peer.is_transport_closed());
    peers.push(OwnedPeer {
        folder: owner.folder_name().into(),
        peer,
    });
}

/// The sessions' peers still connected.
fn live(peers: &Peers) -> Vec<OwnedPeer> {
    let mut peers = crate::locks::lock(peers);
    peers.retain(|p| !p.peer.is_transport_closed());
    peers.clone()
}

/// Tells every connected session of each change it concerns, for as long
/// as the server lives.
pub(super) fn fan_out(runner: &Runner, peers: Peers) {
    let mut changes = ListChanges::of(runner);
    tokio::spawn(async move {
        while let Some(heard) = changes.next().await {
            for owned in live(&peers)
                .into_iter()
                .filter(|p| heard.concerns(&p.folder))
            {
                if let Err(e) = tell(&owned.peer, heard.change).await {
                    tracing::debug!(change = ?heard.change, "list change not sent: {e}");
                }
            }
        }
    });
}

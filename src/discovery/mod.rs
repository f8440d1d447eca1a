//! Discovery: reading the Spaces of tools whose inputs come from their Space
//! (tools that list no inputs, and `[spaces]` tables) and putting the tools
//! they describe into the registry. What a Space said is cached on disk
//! (`cache`), so the next start lists the full tools at once, with no
//! network; in a fleet it is shared through the store too, so a new replica
//! lists them at once. Every start reads the Spaces again in the background,
//! and the registry tells clients when a definition changed.

mod cache;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::config::{Config, SpaceConfig, ToolConfig};
use crate::fleet::Fleet;
use crate::gradio::{ApiInfo, HfToken, SpacePool, SpaceRef};
use crate::tools::claims::Claimant;
use crate::tools::derive::from_endpoint;
use crate::tools::{InputsState, Registry};

/// How long a Space may take to describe itself at start-up.
const DISCOVERY_TIMEOUT: Duration = Duration::from_secs(60);

/// What discovery reads Spaces with and writes tools into.
#[derive(Clone)]
pub(crate) struct Discovery {
    pub(crate) registry: Arc<Registry>,
    pub(crate) pool: Arc<SpacePool>,
    /// The server's HF token, sent to Spaces whose tools may have it.
    pub(crate) token: Option<HfToken>,
    /// In a fleet, what any replica read of a Space is shared through the
    /// store, so that a new replica lists full tools at once.
    pub(crate) fleet: Option<Arc<Fleet>>,
}

/// The discoverable tools and aliases of one Space.
#[derive(Clone)]
struct Group {
    space: SpaceRef,
    tools: Vec<ToolConfig>,
    /// The `[spaces.*]` tables of the Space, each with its place in the file.
    aliases: Vec<(usize, SpaceConfig)>,
    send_hf_token: bool,
}

fn groups(config: &Config) -> Vec<Group> {
    let mut by_space: BTreeMap<String, Group> = BTreeMap::new();
    let mut group = |space: &SpaceRef, send: bool| {
        let key = format!("{} {}", space.base(), space.hub_id().unwrap_or(""));
        by_space
            .entry(key.clone())
            .or_insert_with(|| Group {
                space: space.clone(),
                tools: Vec::new(),
                aliases: Vec::new(),
                send_hf_token: false,
            })
            .send_hf_token |= send;
        key
    };
    let mut keys = Vec::new();
    for tool in config.tools.iter().filter(|t| t.inputs_from_space) {
        keys.push((
            group(&tool.space, tool.send_hf_token),
            Some(tool.clone()),
            None,
        ));
    }
    for (order, alias) in config.spaces.iter().enumerate() {
        keys.push((
            group(&alias.space, alias.send_hf_token),
            None,
            Some((order, alias.clone())),
        ));
    }
    for (key, tool, alias) in keys {
        if let Some(g) = by_space.get_mut(&key) {
            g.tools.extend(tool);
            g.aliases.extend(alias);
        }
    }
    by_space.into_values().collect()
}

/// Where the fleet keeps what `space` said about itself.
fn shared_key(space: &SpaceRef) -> String {
    format!("space:{}", space.base())
}

impl Discovery {
    /// What a replica of the fleet last read of `space`.
    async fn shared(&self, space: &SpaceRef) -> Option<ApiInfo> {
        let fleet = self.fleet.as_ref()?;
        let text = match fleet.get(&shared_key(space)).await {
            Ok(text) => text?,
            Err(e) => {
                tracing::debug!(space = %space, "no shared description: {e}");
                return None;
            }
        };
        // The store is a trust boundary: what it holds is read like the
        // Space's own answer, within the same bound.
        if text.len() > crate::gradio::MAX_DESCRIPTION_BYTES {
            tracing::warn!(space = %space, bytes = text.len(), "the shared description is larger than a Space's may be: ignored");
            return None;
        }
        let info = serde_json::from_str(&text).ok()?;
        tracing::info!(space = %space, "using the Space's API as another replica read it");
        Some(info)
    }

    /// Tells the fleet what `space` said.
    async fn share(&self, space: &SpaceRef, info: &ApiInfo) {
        let Some(fleet) = &self.fleet else { return };
        let Ok(text) = serde_json::to_string(info) else {
            return;
        };
        if let Err(e) = fleet.set(&shared_key(space), &text, cache::CACHE_TTL).await {
            tracing::debug!(space = %space, "the description was not shared: {e}");
        }
    }

    /// Applies the cache at once, then reads every Space in the background.
    /// A Space not in the cache is a first read: the registry holds a
    /// client's first list back for it, up to `discovery_wait`.
    pub(crate) fn start(&self, config: &Config) {
        let deadline = tokio::time::Instant::now() + config.settings.discovery_wait;
        for group in groups(config) {
            let first = match cache::load(&group.space) {
                Some(info) => {
                    self.apply(&group, &info);
                    false
                }
                None => {
                    self.registry.first_read_started(deadline);
                    true
                }
            };
            let discovery = self.clone();
            tokio::spawn(async move {
                // Another replica's reading, if there is one, serves at once;
                // the Space is read again all the same.
                let mut pending = first;
                if pending && let Some(info) = discovery.shared(&group.space).await {
                    discovery.apply(&group, &info);
                    discovery.registry.first_read_ended();
                    pending = false;
                }
                discovery.refresh(&group).await;
                if pending {
                    discovery.registry.first_read_ended();
                }
            });
        }
    }

    /// Reads every Space now, in parallel (for `spaces-mcp tools` and `call`).
    pub(crate) async fn read_all(&self, config: &Config) {
        let groups = groups(config);
        let refreshes = groups.iter().map(|group| self.refresh(group));
        futures_util::future::join_all(refreshes).await;
    }

    /// Reads one Space and updates its tools.
    async fn refresh(&self, group: &Group) {
        let work = async {
            let client = self.pool.client(&group.space)?;
            let token = self.token.as_ref().filter(|_| group.send_hf_token);
            client.api_info(token, &|_| {}).await
        };
        match tokio::time::timeout(DISCOVERY_TIMEOUT, work).await {
            Ok(Ok(info)) => {
                cache::store(&group.space, &info);
                self.share(&group.space, &info).await;
                tracing::info!(space = %group.space, endpoints = info.named_endpoints.len(), "read the Space's API");
                self.apply(group, &info);
            }
            failure => {
                let why = match failure {
                    Ok(Err(e)) => e.to_string(),
                    _ => format!("no answer within {}s", DISCOVERY_TIMEOUT.as_secs()),
                };
                tracing::warn!(space = %group.space, "cannot read the Space's API: {why}");
                for tool in &group.tools {
                    // A tool known from the cache keeps its inputs.
                    let known = self.registry.get(&tool.name).is_some_and(|t| t.known);
                    if !known {
                        self.registry.put(tool.clone(), InputsState::Failed(&why));
                    }
                }
            }
        }
    }

    /// Turns a Space's API into its tools.
    fn apply(&self, group: &Group, info: &ApiInfo) {
        let registry = &self.registry;
        for tool in &group.tools {
            match info.named_endpoints.get(&tool.api) {
                Some(endpoint) => {
                    registry.put(from_endpoint(tool, endpoint), InputsState::Known);
                }
                None => {
                    let mut names: Vec<&str> =
                        info.named_endpoints.keys().map(String::as_str).collect();
                    names.sort_unstable();
                    let why = format!(
                        "it has no endpoint {} (it has {})",
                        tool.api,
                        names.join(", ")
                    );
                    registry.put(tool.clone(), InputsState::Failed(&why));
                }
            }
        }
        for (order, alias) in &group.aliases {
            // Who keeps a name two endpoints want (two tables, or two
            // endpoints alike once made plain) is the registry's to decide.
            for (api, endpoint) in info.named_endpoints.iter().filter(|(_, e)| e.is_public()) {
                let claimant = Claimant {
                    order: *order,
                    alias: alias.alias.clone(),
                    api: api.clone(),
                };
                registry.put_generated(from_endpoint(&alias.tool(api), endpoint), claimant);
            }
        }
    }
}

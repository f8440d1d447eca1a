//! Reading, at start-up and without holding it up, the Spaces of tools whose
//! inputs come from the Space (tools that list no inputs, and `[spaces]`
//! tables). What a Space said is cached on disk, so the next start lists the
//! full tools at once, with no network; every start revalidates the cache in
//! the background, and clients hear `notifications/tools/list_changed` when a
//! tool's definition changed.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::config::{Config, SpaceConfig, ToolConfig};
use crate::discover::discovered_tool;
use crate::gradio::{ApiInfo, SpaceRef};
use crate::runner::Runner;
use crate::tools::Discovery;

/// How long a Space may take to describe itself at start-up.
const DISCOVERY_TIMEOUT: Duration = Duration::from_secs(60);

/// Cached descriptions older than this are not used.
const CACHE_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// Called when the tool list changed.
pub type OnChange = Arc<dyn Fn() + Send + Sync>;

/// The discoverable tools and aliases of one Space.
#[derive(Clone)]
struct Group {
    space: SpaceRef,
    tools: Vec<ToolConfig>,
    aliases: Vec<SpaceConfig>,
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
    for tool in config.tools.iter().filter(|t| t.discovered) {
        keys.push((
            group(&tool.space, tool.send_hf_token),
            Some(tool.clone()),
            None,
        ));
    }
    for alias in &config.spaces {
        keys.push((
            group(&alias.space, alias.send_hf_token),
            None,
            Some(alias.clone()),
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

/// Applies the cache at once, then reads every Space in the background.
pub fn start(runner: Arc<Runner>, config: &Config, on_change: OnChange) {
    let declared: Vec<String> = config.tools.iter().map(|t| t.name.clone()).collect();
    for group in groups(config) {
        if let Some(info) = cache::load(&group.space) {
            apply(&runner, &group, &info, &declared);
        }
        let runner = runner.clone();
        let on_change = on_change.clone();
        let declared = declared.clone();
        tokio::spawn(async move {
            if refresh(&runner, &group, &declared).await {
                on_change();
            }
        });
    }
}

/// Reads every Space now (for `spaces-mcp tools`).
pub async fn discover_now(runner: &Runner, config: &Config) {
    let declared: Vec<String> = config.tools.iter().map(|t| t.name.clone()).collect();
    let groups = groups(config);
    let refreshes = groups.iter().map(|group| refresh(runner, group, &declared));
    futures_util::future::join_all(refreshes).await;
}

/// Reads one Space and updates its tools; says whether any changed.
async fn refresh(runner: &Runner, group: &Group, declared: &[String]) -> bool {
    let work = async {
        let client = runner.client(&group.space)?;
        let token = runner.token_for(group.send_hf_token);
        client.api_info(token, &|_| {}).await
    };
    match tokio::time::timeout(DISCOVERY_TIMEOUT, work).await {
        Ok(Ok(info)) => {
            cache::store(&group.space, &info);
            tracing::info!(space = %group.space, endpoints = info.named_endpoints.len(), "read the Space's API");
            apply(runner, group, &info, declared)
        }
        failure => {
            let why = match failure {
                Ok(Err(e)) => e.to_string(),
                _ => format!("no answer within {}s", DISCOVERY_TIMEOUT.as_secs()),
            };
            tracing::warn!(space = %group.space, "cannot read the Space's API: {why}");
            let mut changed = false;
            for tool in &group.tools {
                // A tool known from the cache keeps its inputs.
                let known = runner.registry().get(&tool.name).is_some_and(|t| t.known);
                if !known {
                    changed |= runner.registry().put(tool.clone(), Discovery::Failed(&why));
                }
            }
            changed
        }
    }
}

/// Turns a Space's API into its tools; says whether any definition changed.
fn apply(runner: &Runner, group: &Group, info: &ApiInfo, declared: &[String]) -> bool {
    let registry = runner.registry();
    let mut changed = false;
    for tool in &group.tools {
        changed |= match info.named_endpoints.get(&tool.api) {
            Some(endpoint) => registry.put(discovered_tool(tool, endpoint), Discovery::Known),
            None => {
                let mut names: Vec<&str> =
                    info.named_endpoints.keys().map(String::as_str).collect();
                names.sort_unstable();
                let why = format!(
                    "it has no endpoint {} (it has {})",
                    tool.api,
                    names.join(", ")
                );
                registry.put(tool.clone(), Discovery::Failed(&why))
            }
        };
    }
    for alias in &group.aliases {
        let mut endpoints: Vec<_> = info
            .named_endpoints
            .iter()
            .filter(|(_, e)| e.is_public())
            .collect();
        endpoints.sort_by(|a, b| a.0.cmp(b.0));
        for (api, endpoint) in endpoints {
            let tool = alias.tool(api);
            // A tool the config declares by name wins over a generated one.
            if declared.contains(&tool.name) {
                continue;
            }
            changed |= registry.put(discovered_tool(&tool, endpoint), Discovery::Known);
        }
    }
    changed
}

mod cache {
    use super::*;

    #[derive(Serialize, Deserialize)]
    struct Entry {
        /// Seconds since the epoch.
        fetched: u64,
        space: String,
        info: ApiInfo,
    }

    fn path(space: &SpaceRef) -> Option<PathBuf> {
        let name: String = space
            .base()
            .as_str()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        Some(crate::dirs::cache_dir()?.join(format!("{}.json", name.trim_matches('_'))))
    }

    fn now() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }

    pub fn load(space: &SpaceRef) -> Option<ApiInfo> {
        let text = std::fs::read(path(space)?).ok()?;
        let entry: Entry = serde_json::from_slice(&text).ok()?;
        let fresh = now().saturating_sub(entry.fetched) < CACHE_TTL.as_secs();
        (fresh && entry.space == space.base().as_str()).then_some(entry.info)
    }

    /// Writes through a temporary file, so a reader never sees half an entry.
    pub fn store(space: &SpaceRef, info: &ApiInfo) {
        let Some(path) = path(space) else { return };
        let entry = Entry {
            fetched: now(),
            space: space.base().to_string(),
            info: info.clone(),
        };
        let write = || -> std::io::Result<()> {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let tmp = path.with_extension(format!("{}.tmp", std::process::id()));
            std::fs::write(
                &tmp,
                serde_json::to_vec(&entry).map_err(std::io::Error::other)?,
            )?;
            std::fs::rename(&tmp, &path)
        };
        if let Err(e) = write() {
            tracing::debug!(path = %path.display(), "cannot write the discovery cache: {e}");
        }
    }
}

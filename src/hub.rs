//! The Hugging Face Hub's own API, for Spaces nobody configured: searching
//! Spaces and reading one Space's record (where it runs, whether it is up).
//!
//! The Hub's address is `HF_ENDPOINT` when set (as for every Hugging Face
//! client: mirrors, private hubs), else https://huggingface.co. A Space's
//! address comes from its record (`host`, or `subdomain`), and is taken only
//! when it is an https `*.hf.space` address, unless `HF_ENDPOINT` names
//! another Hub, whose word the operator chose to trust. Everything the Hub
//! says of a Space (its title, its summary) is the Space owner's text: the
//! server cleans and bounds it before a model reads it.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::gradio::{HfToken, SpaceRef};

/// How long the Hub may take to answer.
const HUB_TIMEOUT: Duration = Duration::from_secs(15);

/// The most of a Hub answer read: a page of search results is far less.
const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;

/// The most results one search returns.
pub(crate) const MAX_RESULTS: usize = 50;

#[derive(Debug, thiserror::Error)]
pub(crate) enum HubError {
    #[error("the Hub at {endpoint} did not answer: {reason}")]
    Unreachable { endpoint: String, reason: String },
    #[error("the Hub knows no Space {0} (or it is private and the token does not grant access)")]
    NoSuchSpace(String),
    #[error("the Hub answered HTTP {status} to {what}")]
    Http { what: String, status: u16 },
    #[error("the Hub's answer to {what} is not what the Hub sends: {reason}")]
    Malformed { what: String, reason: String },
    #[error("{0}")]
    Address(String),
}

/// How search results are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sort {
    Likes,
    Trending,
}

/// A search of the Hub's Gradio Spaces.
#[derive(Debug, Clone)]
pub(crate) struct Search {
    pub(crate) text: String,
    pub(crate) sort: Sort,
    /// Only Spaces tagged `mcp-server` (Gradio apps that serve MCP).
    pub(crate) mcp_only: bool,
    pub(crate) limit: usize,
}

/// What a search found.
#[derive(Debug, Default)]
pub(crate) struct Found {
    pub(crate) spaces: Vec<SpaceSummary>,
    /// Running Gradio Spaces that matched, left out by the allow/deny lists.
    pub(crate) denied: usize,
}

/// One Space, as the Hub describes it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct SpaceSummary {
    pub(crate) id: String,
    pub(crate) title: String,
    pub(crate) likes: u64,
    pub(crate) hardware: Option<String>,
    /// RUNNING, SLEEPING, BUILDING, PAUSED, RUNTIME_ERROR, …
    pub(crate) state: Option<String>,
    pub(crate) summary: Option<String>,
    pub(crate) sdk: Option<String>,
}

/// The Hub's record of a Space, as `/api/spaces` answers it (only what is
/// read; every field may be missing).
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Record {
    id: String,
    #[serde(default)]
    likes: u64,
    sdk: Option<String>,
    host: Option<String>,
    subdomain: Option<String>,
    card_data: Option<Value>,
    runtime: Option<Value>,
    #[serde(default)]
    tags: Vec<String>,
}

impl Record {
    fn summary(self) -> SpaceSummary {
        let card = |key: &str| {
            self.card_data
                .as_ref()
                .and_then(|c| c.get(key))
                .and_then(Value::as_str)
                .map(str::to_string)
                .filter(|s| !s.trim().is_empty())
        };
        let name = self.id.rsplit('/').next().unwrap_or(&self.id).to_string();
        SpaceSummary {
            title: card("title").unwrap_or(name),
            summary: card("short_description"),
            likes: self.likes,
            hardware: self
                .runtime
                .as_ref()
                .and_then(|r| r.pointer("/hardware/current"))
                .and_then(Value::as_str)
                .map(str::to_string),
            state: self
                .runtime
                .as_ref()
                .and_then(|r| r.get("stage"))
                .and_then(Value::as_str)
                .map(str::to_string),
            sdk: self.sdk.clone().or_else(|| {
                self.tags
                    .iter()
                    .find(|t| *t == "gradio")
                    .map(|t| t.to_string())
            }),
            id: self.id,
        }
    }
}

/// A Space found on the Hub: its summary and where it runs.
#[derive(Debug, Clone)]
pub(crate) struct HubSpace {
    pub(crate) summary: SpaceSummary,
    pub(crate) space: SpaceRef,
    /// Whether an HF token may go to it: only to an https `*.hf.space`
    /// address, as for a configured Space.
    pub(crate) takes_token: bool,
}

pub(crate) struct Hub {
    http: reqwest::Client,
    endpoint: String,
    /// `HF_ENDPOINT` names another Hub than huggingface.co.
    custom: bool,
    token: Option<HfToken>,
}

impl Hub {
    pub(crate) fn from_env(token: Option<HfToken>) -> Hub {
        let hub = crate::gradio::HubEndpoint::from_env();
        let http = reqwest::Client::builder()
            .user_agent(concat!("spaces-mcp/", env!("CARGO_PKG_VERSION")))
            .timeout(HUB_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Hub {
            http,
            endpoint: hub.base,
            custom: hub.custom,
            token,
        }
    }

    async fn get(
        &self,
        path: &str,
        query: &[(&str, String)],
        what: &str,
    ) -> Result<Value, HubError> {
        let mut url = format!("{}{path}", self.endpoint);
        if !query.is_empty() {
            let pairs = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())))
                .finish();
            url = format!("{url}?{pairs}");
        }
        let mut request = self.http.get(&url);
        let secure = url::Url::parse(&url).is_ok_and(|u| crate::gradio::may_carry_token(&u));
        if let Some(value) = self
            .token
            .as_ref()
            .filter(|_| secure)
            .and_then(HfToken::header_value)
        {
            request = request.header(reqwest::header::AUTHORIZATION, value);
        }
        let response = request.send().await.map_err(|e| HubError::Unreachable {
            endpoint: self.endpoint.clone(),
            reason: e.to_string(),
        })?;
        let status = response.status().as_u16();
        if status == 404 || status == 401 {
            return Err(HubError::NoSuchSpace(what.to_string()));
        }
        if !(200..300).contains(&status) {
            return Err(HubError::Http {
                what: what.to_string(),
                status,
            });
        }
        let malformed = |reason: String| HubError::Malformed {
            what: what.to_string(),
            reason,
        };
        if response
            .content_length()
            .is_some_and(|n| n > MAX_ANSWER_BYTES as u64)
        {
            return Err(malformed("it is too large".into()));
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| malformed(e.to_string()))?;
        if bytes.len() > MAX_ANSWER_BYTES {
            return Err(malformed("it is too large".into()));
        }
        serde_json::from_slice(&bytes).map_err(|e| malformed(e.to_string()))
    }

    /// Running Gradio Spaces matching `search` that `allowed` lets through,
    /// best first; the filter runs before the limit, so denied Spaces do
    /// not make the answer short, and how many it left out is counted.
    pub(crate) async fn search(
        &self,
        search: &Search,
        allowed: impl Fn(&str) -> bool,
    ) -> Result<Found, HubError> {
        let limit = search.limit.clamp(1, MAX_RESULTS);
        let mut query = vec![
            ("search", search.text.clone()),
            ("filter", "gradio".to_string()),
            (
                "sort",
                match search.sort {
                    Sort::Likes => "likes",
                    Sort::Trending => "trendingScore",
                }
                .to_string(),
            ),
            ("direction", "-1".to_string()),
            // Sleeping and broken Spaces are dropped here: ask for more.
            ("limit", (limit * 3).min(100).to_string()),
        ];
        if search.mcp_only {
            query.push(("filter", "mcp-server".to_string()));
        }
        for field in ["likes", "sdk", "runtime", "cardData", "tags", "subdomain"] {
            query.push(("expand", field.to_string()));
        }
        let answer = self.get("/api/spaces", &query, "a Space search").await?;
        let records: Vec<Record> =
            serde_json::from_value(answer).map_err(|e| HubError::Malformed {
                what: "a Space search".into(),
                reason: e.to_string(),
            })?;
        let mut found = Found::default();
        for summary in records.into_iter().map(Record::summary) {
            let usable = summary.sdk.as_deref().is_none_or(|sdk| sdk == "gradio")
                && summary.state.as_deref().is_none_or(|st| st == "RUNNING");
            if !usable || found.spaces.len() == limit {
                continue;
            }
            if allowed(&summary.id) {
                found.spaces.push(summary);
            } else {
                found.denied += 1;
            }
        }
        Ok(found)
    }

    /// One Space's record, and where it runs.
    pub(crate) async fn space(&self, id: &str) -> Result<HubSpace, HubError> {
        let path = format!("/api/spaces/{id}");
        let answer = self.get(&path, &[], id).await?;
        let record: Record = serde_json::from_value(answer).map_err(|e| HubError::Malformed {
            what: id.to_string(),
            reason: e.to_string(),
        })?;
        if !record.id.eq_ignore_ascii_case(id) {
            return Err(HubError::Malformed {
                what: id.to_string(),
                reason: format!("it describes {:?}", record.id),
            });
        }
        let host = match (&record.host, &record.subdomain) {
            (Some(host), _) => host.clone(),
            (None, Some(sub)) => format!("https://{sub}.hf.space"),
            (None, None) => SpaceRef::parse(id)
                .map_err(|e| HubError::Address(e.to_string()))?
                .base()
                .to_string(),
        };
        let url = url::Url::parse(&host).map_err(|e| {
            HubError::Address(format!("the Hub names {host:?} as {id}'s address: {e}"))
        })?;
        let on_spaces = url.scheme() == "https"
            && url
                .host_str()
                .is_some_and(|h| h.ends_with(".hf.space") && !h.contains(':'));
        if !on_spaces && !self.custom {
            return Err(HubError::Address(format!(
                "the Hub names {host:?} as {id}'s address, which is not an https *.hf.space address: not followed"
            )));
        }
        let space = SpaceRef::parse(&host)
            .and_then(|s| s.with_hub_id(id))
            .map_err(|e| HubError::Address(e.to_string()))?;
        Ok(HubSpace {
            summary: record.summary(),
            space,
            takes_token: on_spaces,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_record_reads_as_a_summary() {
        let record: Record = serde_json::from_value(json!({
            "id": "alice/painter", "likes": 12, "sdk": "gradio",
            "cardData": {"title": "Painter", "short_description": "Paints."},
            "runtime": {"stage": "RUNNING", "hardware": {"current": "zero-a10g"}},
            "tags": ["gradio", "mcp-server"]
        }))
        .unwrap();
        let summary = record.summary();
        assert_eq!(summary.id, "alice/painter");
        assert_eq!(summary.likes, 12);
        assert_eq!(summary.hardware.as_deref(), Some("zero-a10g"));
        assert_eq!(summary.state.as_deref(), Some("RUNNING"));
        assert_eq!(summary.title, "Painter");
        assert_eq!(summary.summary.as_deref(), Some("Paints."));
        let bare: Record = serde_json::from_value(json!({"id": "bob/x"})).unwrap();
        assert_eq!(bare.summary().title, "x");
    }
}

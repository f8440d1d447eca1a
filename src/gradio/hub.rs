//! Asking the Hugging Face Hub what state a Space is in, when the Space
//! itself does not answer as a Gradio app: asleep, building and starting
//! Spaces are waited for; paused, broken and missing ones are reported as such.
//!
//! The Hub's address is `HF_ENDPOINT` when set (as for every Hugging Face
//! client, for mirrors and private hubs), else https://huggingface.co.

use std::time::Duration;

use reqwest::header::AUTHORIZATION;
use serde::Deserialize;

use super::HfToken;

/// What the Hub says of a Space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// It is coming up: wait and try again.
    Starting(String),
    /// It will not answer; the message says why and what to do.
    Down(String),
    /// Running, or the Hub could not tell: the Space's own error stands.
    Unknown,
}

#[derive(Deserialize)]
struct Runtime {
    stage: String,
}

/// How long the Hub may take to answer.
const HUB_TIMEOUT: Duration = Duration::from_secs(10);

/// The Hub every Hugging Face client talks to unless told otherwise.
const DEFAULT_HUB: &str = "https://huggingface.co";

/// Where the Hub is: `HF_ENDPOINT`, read here and nowhere else, with one
/// rule: surrounding blanks and trailing slashes are dropped, and an empty
/// value (common in container environments) is no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HubEndpoint {
    /// The base URL, without a trailing slash.
    pub(crate) base: String,
    /// Another Hub than huggingface.co was named.
    pub(crate) custom: bool,
}

impl HubEndpoint {
    pub(crate) fn from_env() -> HubEndpoint {
        HubEndpoint::from_value(std::env::var("HF_ENDPOINT").ok().as_deref())
    }

    pub(crate) fn from_value(value: Option<&str>) -> HubEndpoint {
        match value.map(|v| v.trim().trim_end_matches('/')) {
            Some(base) if !base.is_empty() => HubEndpoint {
                base: base.to_string(),
                custom: true,
            },
            _ => HubEndpoint {
                base: DEFAULT_HUB.to_string(),
                custom: false,
            },
        }
    }
}

/// The Hub's verdict on `id` (`owner/name`).
pub(crate) async fn verdict(http: &reqwest::Client, id: &str, token: Option<&HfToken>) -> Verdict {
    let url = format!("{}/api/spaces/{id}/runtime", HubEndpoint::from_env().base);
    let mut request = http.get(&url).timeout(HUB_TIMEOUT);
    let safe = url::Url::parse(&url).is_ok_and(|u| super::space::may_carry_token(&u));
    if let Some(value) = token.filter(|_| safe).and_then(HfToken::header_value) {
        // The Hub's API reads the token from Authorization, not X-HF-Authorization.
        request = request.header(AUTHORIZATION, value);
    }
    let response = match request.send().await {
        Ok(response) => response,
        Err(e) => {
            tracing::debug!(space = id, "the Hub did not answer: {e}");
            return Verdict::Unknown;
        }
    };
    match response.status().as_u16() {
        200 => {}
        401 | 404 => {
            return Verdict::Down(format!(
                "the Hub knows no Space {id} (or it is private and HF_TOKEN does not grant access to it)"
            ));
        }
        _ => return Verdict::Unknown,
    }
    // The runtime record is small; more than this is not a runtime record.
    let body = super::body::read_prefix(response, 256 * 1024, HUB_TIMEOUT).await;
    let runtime = serde_json::from_slice::<Runtime>(&body).ok();
    match runtime {
        Some(runtime) => judge(id, &runtime.stage),
        None => Verdict::Unknown,
    }
}

/// The verdict for a runtime stage, as the Hub names them.
pub(crate) fn judge(id: &str, stage: &str) -> Verdict {
    let page = format!("https://huggingface.co/spaces/{id}");
    match stage {
        "SLEEPING" => Verdict::Starting(format!("Space {id} is asleep; waking it up")),
        "BUILDING" | "RUNNING_BUILDING" => Verdict::Starting(format!("Space {id} is building")),
        "APP_STARTING" | "RUNNING_APP_STARTING" => {
            Verdict::Starting(format!("Space {id} is starting"))
        }
        "PAUSED" => Verdict::Down(format!(
            "Space {id} is paused by its owner; it answers no calls until they restart it ({page}), or duplicate it to your account"
        )),
        "STOPPED" => Verdict::Down(format!("Space {id} is stopped; restart it from {page}")),
        "BUILD_ERROR" | "CONFIG_ERROR" | "NO_APP_FILE" => Verdict::Down(format!(
            "Space {id} failed to build ({stage}); its owner must fix it (see the logs at {page})"
        )),
        "RUNTIME_ERROR" => Verdict::Down(format!(
            "Space {id} crashed ({stage}); its owner must restart or fix it (see the logs at {page})"
        )),
        "DELETING" => Verdict::Down(format!("Space {id} is being deleted")),
        _ => Verdict::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_are_judged_as_gradio_clients_do() {
        for stage in [
            "SLEEPING",
            "BUILDING",
            "RUNNING_BUILDING",
            "APP_STARTING",
            "RUNNING_APP_STARTING",
        ] {
            assert!(
                matches!(judge("a/b", stage), Verdict::Starting(_)),
                "{stage}"
            );
        }
        for stage in [
            "PAUSED",
            "STOPPED",
            "BUILD_ERROR",
            "CONFIG_ERROR",
            "NO_APP_FILE",
            "RUNTIME_ERROR",
            "DELETING",
        ] {
            let Verdict::Down(message) = judge("a/b", stage) else {
                panic!("{stage}")
            };
            assert!(message.contains("Space a/b"), "{message}");
        }
        assert_eq!(judge("a/b", "RUNNING"), Verdict::Unknown);
        let Verdict::Down(paused) = judge("a/b", "PAUSED") else {
            panic!()
        };
        assert!(paused.contains("paused") && paused.contains("https://huggingface.co/spaces/a/b"));
    }
}

#[cfg(test)]
mod endpoint_tests {
    use super::HubEndpoint;

    #[test]
    fn hf_endpoint_has_one_rule() {
        for unset in [None, Some(""), Some("   "), Some("/")] {
            let hub = HubEndpoint::from_value(unset);
            assert_eq!(hub.base, "https://huggingface.co", "{unset:?}");
            assert!(!hub.custom, "{unset:?}");
        }
        for (value, base) in [
            ("https://hub.example", "https://hub.example"),
            ("https://hub.example/", "https://hub.example"),
            (" http://127.0.0.1:9000// ", "http://127.0.0.1:9000"),
        ] {
            let hub = HubEndpoint::from_value(Some(value));
            assert_eq!(hub.base, base);
            assert!(hub.custom);
        }
    }
}

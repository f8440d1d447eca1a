//! What a Gradio app says about itself: `/config` (version, API prefix) and
//! `/gradio_api/info` (each endpoint's parameters, defaults and returns).
//! Only the fields this server uses are read; the rest is ignored, so newer
//! Gradio versions that add fields keep working.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The part of `/config` we need.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct AppConfig {
    #[serde(default)]
    pub(crate) version: Option<String>,
    /// `/gradio_api` on Gradio 5 and later; absent on 4.x, whose API sits at the root.
    #[serde(default)]
    pub(crate) api_prefix: Option<String>,
    /// `sse_v3` on current Gradio; the queue API is used from `sse_v2` on.
    #[serde(default)]
    pub(crate) protocol: Option<String>,
    #[serde(default)]
    pub(crate) dependencies: Vec<Dependency>,
    #[serde(default)]
    pub(crate) components: Vec<Component>,
}

/// A component of the app; only its type matters here.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Component {
    pub(crate) id: u64,
    #[serde(default, rename = "type")]
    pub(crate) kind: String,
}

/// Where an endpoint's `gr.State` values sit among its inputs and outputs:
/// the API info leaves them out, but they keep a place in `data`.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct StatePlaces {
    pub(crate) inputs: Vec<usize>,
    pub(crate) outputs: Vec<usize>,
    /// How many outputs the endpoint sends, state included.
    pub(crate) output_count: usize,
}

impl StatePlaces {
    /// Puts a `null` at each state input's place.
    pub(crate) fn fill_inputs(&self, mut data: Vec<Value>) -> Vec<Value> {
        for &place in &self.inputs {
            data.insert(place.min(data.len()), Value::Null);
        }
        data
    }

    /// Drops the state outputs, leaving those the API info describes.
    pub(crate) fn strip_outputs(&self, mut outputs: Vec<Value>) -> Vec<Value> {
        if outputs.len() == self.output_count {
            for &place in self.outputs.iter().rev() {
                outputs.remove(place);
            }
        }
        outputs
    }
}

/// An event handler of the app; named ones are the API's endpoints.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Dependency {
    #[serde(default)]
    pub(crate) inputs: Vec<u64>,
    #[serde(default)]
    pub(crate) outputs: Vec<u64>,
    /// The `fn_index` of the queue API; absent on old versions, where it is the position.
    #[serde(default)]
    pub(crate) id: Option<u64>,
    /// A name, or `false` (hidden) on older versions.
    #[serde(default)]
    pub(crate) api_name: Value,
}

impl AppConfig {
    /// The prefix as a relative path with no leading or trailing slash
    /// (`gradio_api`, or empty), ready to join onto the app's base URL.
    pub(crate) fn prefix(&self) -> String {
        self.api_prefix
            .as_deref()
            .unwrap_or("")
            .trim_matches('/')
            .to_string()
    }

    /// The state places of each named endpoint that has any.
    pub(crate) fn state_places(&self) -> HashMap<String, StatePlaces> {
        let states: std::collections::HashSet<u64> = self
            .components
            .iter()
            .filter(|c| c.kind == "state")
            .map(|c| c.id)
            .collect();
        let places = |ids: &[u64]| -> Vec<usize> {
            ids.iter()
                .enumerate()
                .filter(|(_, id)| states.contains(id))
                .map(|(i, _)| i)
                .collect()
        };
        self.dependencies
            .iter()
            .filter_map(|d| {
                let name = d.api_name.as_str()?.trim_start_matches('/');
                let found = StatePlaces {
                    inputs: places(&d.inputs),
                    outputs: places(&d.outputs),
                    output_count: d.outputs.len(),
                };
                (!found.inputs.is_empty() || !found.outputs.is_empty())
                    .then(|| (format!("/{name}"), found))
            })
            .collect()
    }

    /// The queue API's `fn_index` of each named endpoint (`/infer` → 0), when
    /// the app speaks a queue protocol this server follows.
    pub(crate) fn queue_endpoints(&self) -> HashMap<String, u64> {
        let modern = self
            .protocol
            .as_deref()
            .is_some_and(|p| p.starts_with("sse_v2") || p.starts_with("sse_v3"));
        if !modern {
            return HashMap::new();
        }
        self.dependencies
            .iter()
            .enumerate()
            .filter_map(|(position, d)| {
                let name = d.api_name.as_str()?.trim_start_matches('/');
                Some((format!("/{name}"), d.id.unwrap_or(position as u64)))
            })
            .collect()
    }
}

/// `/gradio_api/info`, read leniently: apps nobody here wrote put odd
/// values in odd places (`gr.ChatInterface`'s flag endpoint has a label that
/// is a translation object), and one odd field costs at most that field,
/// never the app: a text field that is not text is absent, a parameter or
/// output that is not an object keeps its place with nothing known of it,
/// and only an endpoint that is not an object at all is left out.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ApiInfo {
    #[serde(default, deserialize_with = "lenient_endpoints")]
    pub(crate) named_endpoints: HashMap<String, EndpointInfo>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct EndpointInfo {
    #[serde(default, deserialize_with = "lenient_list")]
    pub(crate) parameters: Vec<ParameterInfo>,
    #[serde(default, deserialize_with = "lenient_list")]
    pub(crate) returns: Vec<ReturnInfo>,
    #[serde(default, deserialize_with = "lenient_text")]
    pub(crate) description: Option<String>,
    /// `public`, `private` or `undocumented` (Gradio 6); absent before.
    #[serde(default, deserialize_with = "lenient_text")]
    pub(crate) api_visibility: Option<String>,
}

/// Text, or nothing for any other JSON value.
fn lenient_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(text) => Some(text),
        _ => None,
    })
}

/// A boolean, or false for any other JSON value.
fn lenient_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Value::deserialize(d)?.as_bool().unwrap_or(false))
}

/// A list whose items each keep their place: one that does not read is
/// its type's default.
fn lenient_list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned + Default,
{
    Ok(match Value::deserialize(d)? {
        Value::Array(items) => items
            .into_iter()
            .map(|item| serde_json::from_value(item).unwrap_or_default())
            .collect(),
        _ => Vec::new(),
    })
}

/// The endpoints that read; one that is not an object is left out.
fn lenient_endpoints<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<HashMap<String, EndpointInfo>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Object(map) => map
            .into_iter()
            .filter_map(|(name, value)| Some((name, serde_json::from_value(value).ok()?)))
            .collect(),
        _ => HashMap::new(),
    })
}

impl EndpointInfo {
    /// Whether the app offers the endpoint to API clients.
    pub(crate) fn is_public(&self) -> bool {
        self.api_visibility.as_deref().is_none_or(|v| v == "public")
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct ParameterInfo {
    #[serde(default, deserialize_with = "lenient_text")]
    pub(crate) label: Option<String>,
    /// The Python parameter name; Gradio fills it from the label when the
    /// function has none (`param_0`, …).
    #[serde(default, deserialize_with = "lenient_text")]
    pub(crate) parameter_name: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub(crate) parameter_has_default: bool,
    #[serde(default)]
    pub(crate) parameter_default: Value,
    #[serde(default, deserialize_with = "lenient_text")]
    pub(crate) component: Option<String>,
    /// The JSON-schema fragment Gradio gives (`enum` for choices, a
    /// description with a slider's bounds, a FileData object for files).
    #[serde(default, rename = "type")]
    pub(crate) schema: Value,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct ReturnInfo {
    #[serde(default, deserialize_with = "lenient_text")]
    pub(crate) label: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    pub(crate) component: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::fixtures::wire;

    #[test]
    fn one_odd_field_costs_that_field_not_the_app() {
        let info: ApiInfo = serde_json::from_value(serde_json::json!({"named_endpoints": {
            "/respond": {"parameters": [{"label": "Message", "parameter_name": "message",
                "parameter_has_default": false, "component": "Textbox", "type": {"type": "string"}}],
                "returns": [{"label": "Reply", "component": "Textbox"}]},
            "/flag": {"parameters": [
                {"label": {"key": "chat_interface.chatbot", "_type": "translation_metadata"},
                 "parameter_name": "messages", "parameter_has_default": true, "parameter_default": [],
                 "component": "Chatbot", "type": {"type": "array"}},
                 "not an object",
                 {"parameter_name": 7, "parameter_has_default": "yes"}],
                "returns": [{"label": ["odd"], "component": "Textbox"}], "description": {"x": 1}},
            "/broken": "not an endpoint"
        }}))
        .unwrap();
        assert_eq!(info.named_endpoints.len(), 2, "only /broken is left out");
        let flag = &info.named_endpoints["/flag"];
        assert_eq!(flag.parameters.len(), 3, "every parameter keeps its place");
        assert_eq!(flag.parameters[0].label, None);
        assert_eq!(
            flag.parameters[0].parameter_name.as_deref(),
            Some("messages")
        );
        assert!(flag.parameters[0].parameter_has_default);
        assert_eq!(flag.parameters[2].parameter_name, None);
        assert!(!flag.parameters[2].parameter_has_default);
        assert_eq!(flag.returns[0].component.as_deref(), Some("Textbox"));
        assert_eq!(flag.description, None);
    }

    #[test]
    fn reads_the_endpoints_of_the_recorded_info() {
        let info: ApiInfo = serde_json::from_str(wire("sanasprint-like.info.json")).unwrap();
        let infer = &info.named_endpoints["/infer"];
        let names: Vec<_> = infer
            .parameters
            .iter()
            .map(|p| p.parameter_name.as_deref().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "prompt",
                "model_size",
                "seed",
                "randomize_seed",
                "width",
                "height",
                "guidance_scale",
                "num_inference_steps"
            ]
        );
        assert!(!infer.parameters[0].parameter_has_default);
        assert_eq!(infer.parameters[4].parameter_default, Value::from(1024));
        let components: Vec<_> = infer
            .returns
            .iter()
            .map(|r| r.component.as_deref().unwrap())
            .collect();
        assert_eq!(components, ["Image", "Number"]);

        let info: ApiInfo = serde_json::from_str(wire("dia-like.info.json")).unwrap();
        let endpoint = &info.named_endpoints["/generate_audio"];
        assert_eq!(endpoint.parameters.len(), 8);
        assert!(endpoint.parameters[1].parameter_has_default);
        assert_eq!(endpoint.parameters[1].parameter_default, Value::Null);
        assert_eq!(endpoint.returns[0].component.as_deref(), Some("Audio"));
    }

    #[test]
    fn state_places_are_found_and_kept() {
        let config: AppConfig = serde_json::from_value(serde_json::json!({
            "protocol": "sse_v3",
            "components": [{"id": 1, "type": "textbox"}, {"id": 2, "type": "state"}, {"id": 3, "type": "number"}, {"id": 4, "type": "textbox"}],
            "dependencies": [{"id": 0, "api_name": "count", "inputs": [1, 2, 3], "outputs": [2, 4]}]
        }))
        .unwrap();
        let places = &config.state_places()["/count"];
        assert_eq!(places.inputs, [1]);
        assert_eq!(places.outputs, [0]);
        assert_eq!(
            places.fill_inputs(vec![Value::from("ab"), Value::from(3)]),
            [Value::from("ab"), Value::Null, Value::from(3)]
        );
        assert_eq!(
            places.strip_outputs(vec![Value::Null, Value::from("x")]),
            [Value::from("x")]
        );
        // Outputs of another shape are left alone.
        assert_eq!(
            places.strip_outputs(vec![Value::from("x")]),
            [Value::from("x")]
        );
    }

    #[test]
    fn reads_the_prefix_from_the_recorded_config() {
        let config: AppConfig = serde_json::from_str(wire("sanasprint-like.config.json")).unwrap();
        assert_eq!(config.prefix(), "gradio_api");
        assert_eq!(config.queue_endpoints().get("/infer"), Some(&0));
        assert_eq!(config.version.as_deref(), Some("6.31.0"));
        let old: AppConfig = serde_json::from_str(r#"{"version": "4.44.1"}"#).unwrap();
        assert_eq!(old.prefix(), "");
        assert!(
            old.queue_endpoints().is_empty(),
            "no protocol: the call API"
        );
    }

    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(crate::fuzzing::cases(2000))]

            /// Whatever an app's `/info` or `/config` holds, reading it
            /// neither panics nor makes places that point past the data.
            #[test]
            fn fuzz_info_and_config_readers(
                text in crate::fuzzing::mutated_text(crate::fuzzing::seeds(&[".info.json", ".config.json"])),
                data in proptest::collection::vec(any::<u8>(), 0..12),
            ) {
                if let Ok(info) = serde_json::from_str::<ApiInfo>(&text) {
                    for endpoint in info.named_endpoints.values() {
                        let _ = endpoint.parameters.len() + endpoint.returns.len();
                        let _ = endpoint.is_public();
                    }
                }
                if let Ok(config) = serde_json::from_str::<AppConfig>(&text) {
                    let _ = config.prefix();
                    let _ = config.queue_endpoints();
                    for places in config.state_places().values() {
                        let data: Vec<Value> = data.iter().map(|n| Value::from(*n)).collect();
                        let filled = places.fill_inputs(data.clone());
                        prop_assert!(filled.len() >= data.len());
                        let stripped = places.strip_outputs(data.clone());
                        prop_assert!(stripped.len() <= data.len());
                    }
                }
            }
        }
    }
}

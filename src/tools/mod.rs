//! The tools this server serves: the registry (each tool's config and MCP
//! definition, and a signal when the set changes), with its parts beside it:
//! `schema` (the MCP definition), `arguments` (checking a call's arguments
//! and laying them out as Gradio's `data`), and `derive` (inputs and output
//! schemas read from a Space's API).
//!
//! Declared tools are defined from the config alone, at start-up; tools
//! whose inputs come from their Space change once it has been read.

pub(crate) mod arguments;
pub(crate) mod claims;
pub(crate) mod derive;
pub(crate) mod prompts;
mod schema;

use std::sync::{Arc, RwLock};

use indexmap::IndexMap;
use rmcp::model::Tool;
use serde_json::Value;
use tokio::sync::watch;

use crate::config::{Config, ToolConfig};
use claims::{Claimant, Claimed, Claims, Clash};

pub(crate) use arguments::{check_arguments, output_names, positional_data};

/// Why a call's arguments, or the config, do not fit the endpoint.
#[derive(Debug, thiserror::Error, PartialEq)]
pub(crate) enum ToolError {
    #[error("unknown argument {name:?}; this tool takes {expected}")]
    UnknownArgument { name: String, expected: String },
    #[error("missing required argument {name:?}")]
    MissingArgument { name: String },
    #[error("argument {name:?} {problem}")]
    InvalidArgument { name: String, problem: String },
    #[error(
        "the config names input {name:?}, but the endpoint has no such parameter (it has {available}); fix the tool's inputs in the config"
    )]
    NoSuchParameter { name: String, available: String },
    #[error(
        "the endpoint's input {name:?} has no default and the tool gives it no value; add it to the tool's inputs in the config"
    )]
    UnfilledParameter { name: String },
}

/// A tool ready to serve: its config and its MCP definition.
#[derive(Debug)]
pub(crate) struct RegisteredTool {
    pub(crate) config: ToolConfig,
    pub(crate) definition: Tool,
    /// Its inputs are known (declared, or read from the Space).
    pub(crate) known: bool,
}

/// Every tool, by name. Tools whose inputs come from their Space change once
/// the Space has been read, so the set sits behind a lock; readers take
/// cheap snapshots (`Arc`s). Whoever must hear of changes (the MCP server,
/// to send `tools/list_changed`) watches [`Registry::changes`].
#[derive(Debug)]
pub(crate) struct Registry {
    tools: RwLock<Vec<Arc<RegisteredTool>>>,
    /// Counts the changes to any definition.
    version: watch::Sender<u64>,
    /// Counts the changes to the prompt list: every tool change (each tool
    /// has its prompt), and changes of prompts alone.
    prompt_version: watch::Sender<u64>,
    /// Spaces being read for the first time (not in the cache): a client's
    /// first list waits for them, within `first_reads_deadline`.
    first_reads: watch::Sender<usize>,
    first_reads_deadline: std::sync::Mutex<Option<tokio::time::Instant>>,
    /// The prompts the config declares; each tool brings one more.
    declared_prompts: Vec<crate::config::PromptConfig>,
    /// Some tools come from what Spaces say of themselves (`[spaces]` tables,
    /// tools without inputs), which may change when a Space is redeployed.
    from_spaces: bool,
    /// Who holds each name a `[spaces.*]` table generates.
    claims: std::sync::Mutex<Claims>,
    /// The generated tools left out for a name another holds, each once.
    clashes: std::sync::Mutex<Vec<Clash>>,
}

/// How long a settled list holds when some tools come from Spaces: the age
/// after which a Space's description is read again.
const SPACE_LIST_TTL: std::time::Duration = std::time::Duration::from_secs(300);

/// How long a list of tools the config declares whole holds: until a restart
/// with another config, which a client may not see for this long (its
/// listen stream drops with the restart, and it lists again).
const CONFIG_LIST_TTL: std::time::Duration = std::time::Duration::from_secs(600);

/// The arguments of one call, checked, with config defaults filled in.
pub(crate) type Arguments = IndexMap<String, Value>;

/// What is known of the inputs of a tool whose inputs come from its Space.
pub(crate) enum InputsState<'a> {
    /// Its inputs are known.
    Known,
    /// Not read yet.
    Pending,
    /// The Space did not answer; why.
    Failed(&'a str),
}

/// The MCP definition of a tool whose inputs are known, registered or not
/// (the Hub tools describe Spaces nobody configured with it).
pub(crate) fn definition_of(tool: &ToolConfig) -> rmcp::model::Tool {
    schema::definition(tool, &InputsState::Known)
}

impl Registry {
    pub(crate) fn new(config: &Config) -> Registry {
        let registry = Registry {
            tools: RwLock::default(),
            version: watch::Sender::new(0),
            prompt_version: watch::Sender::new(0),
            first_reads: watch::Sender::new(0),
            first_reads_deadline: std::sync::Mutex::new(None),
            declared_prompts: config.prompts.clone(),
            from_spaces: !config.spaces.is_empty()
                || config.tools.iter().any(|t| t.inputs_from_space),
            claims: std::sync::Mutex::new(Claims::new(
                crate::naming::builtin::ALL,
                config.tools.iter().map(|t| t.name.clone()).collect(),
            )),
            clashes: std::sync::Mutex::default(),
        };
        for tool in &config.tools {
            let state = if tool.inputs_from_space {
                InputsState::Pending
            } else {
                InputsState::Known
            };
            registry.put(tool.clone(), state);
        }
        registry.version.send_replace(0);
        registry.prompt_version.send_replace(0);
        registry
    }

    /// Marks the start of a first read of a Space: lists wait for it until
    /// `deadline` (the same for all first reads of a start).
    pub(crate) fn first_read_started(&self, deadline: tokio::time::Instant) {
        *crate::locks::lock(&self.first_reads_deadline) = Some(deadline);
        self.first_reads.send_modify(|n| *n += 1);
    }

    /// Marks the end of a first read, answered or not.
    pub(crate) fn first_read_ended(&self) {
        self.first_reads.send_modify(|n| *n = n.saturating_sub(1));
    }

    /// Waits until every first read has ended, or their deadline passed:
    /// the tools a client lists first are then as complete as they can be
    /// in that time.
    pub(crate) async fn first_reads_done(&self) {
        let deadline = *crate::locks::lock(&self.first_reads_deadline);
        let Some(deadline) = deadline else {
            return;
        };
        let mut pending = self.first_reads.subscribe();
        let _ = tokio::time::timeout_at(deadline, pending.wait_for(|n| *n == 0)).await;
    }

    /// Ticks whenever a tool's definition changes (0 until the first change).
    pub(crate) fn changes(&self) -> watch::Receiver<u64> {
        self.version.subscribe()
    }

    /// Ticks whenever the prompt list changes.
    pub(crate) fn prompt_changes(&self) -> watch::Receiver<u64> {
        self.prompt_version.subscribe()
    }

    /// Tells those watching that the tool list changed outside the registry
    /// (a built-in tool came or went).
    pub(crate) fn tools_changed_elsewhere(&self) {
        self.version.send_modify(|v| *v += 1);
        self.prompt_version.send_modify(|v| *v += 1);
    }

    /// The same for the prompt list alone.
    pub(crate) fn prompts_changed_elsewhere(&self) {
        self.prompt_version.send_modify(|v| *v += 1);
    }

    /// Adds a tool, or replaces the one of the same name; says whether its
    /// definition changed (clients are then told the list changed).
    pub(crate) fn put(&self, config: ToolConfig, state: InputsState<'_>) -> bool {
        let definition = schema::definition(&config, &state);
        let known = matches!(state, InputsState::Known);
        let mut tools = crate::locks::write(&self.tools);
        let entry = Arc::new(RegisteredTool {
            config,
            definition,
            known,
        });
        let changed = match tools
            .iter_mut()
            .find(|t| t.config.name == entry.config.name)
        {
            Some(existing) if existing.definition == entry.definition => {
                *existing = entry;
                false
            }
            Some(existing) => {
                *existing = entry;
                true
            }
            None => {
                tools.push(entry);
                true
            }
        };
        drop(tools);
        if changed {
            self.version.send_modify(|v| *v += 1);
            self.prompt_version.send_modify(|v| *v += 1);
        }
        changed
    }

    /// Adds a tool that a `[spaces.*]` table generates from an endpoint,
    /// when the name is the table's to take (`claims`); a tool left out, or
    /// replaced, is told once as a warning and kept in [`Registry::clashes`].
    pub(crate) fn put_generated(&self, config: ToolConfig, claimant: Claimant) {
        let outcome = crate::locks::lock(&self.claims).claim(&config.name, claimant);
        match outcome {
            Claimed::Granted => {
                self.put(config, InputsState::Known);
            }
            Claimed::TakenOver(clash) => {
                self.note(clash);
                self.put(config, InputsState::Known);
            }
            Claimed::Refused(clash) => self.note(clash),
        }
    }

    fn note(&self, clash: Clash) {
        let mut clashes = crate::locks::lock(&self.clashes);
        if !clashes.contains(&clash) {
            tracing::warn!("{clash}");
            clashes.push(clash);
        }
    }

    /// The generated tools left out so far, and why.
    pub(crate) fn clashes(&self) -> Vec<Clash> {
        crate::locks::lock(&self.clashes).clone()
    }

    pub(crate) fn get(&self, name: &str) -> Option<Arc<RegisteredTool>> {
        let tools = crate::locks::read(&self.tools);
        tools.iter().find(|t| t.config.name == name).cloned()
    }

    /// The tools as they are now.
    pub(crate) fn snapshot(&self) -> Vec<Arc<RegisteredTool>> {
        crate::locks::read(&self.tools).clone()
    }

    /// How long a client may take the tool (and prompt) list as it is now:
    /// not at all while a Space is still being read, or a tool is still
    /// waiting for its Space; a while once every Space has described itself;
    /// long for a list the config declares whole. Changes are announced
    /// either way (`list_changed`).
    pub(crate) fn list_ttl(&self) -> std::time::Duration {
        let reading = *self.first_reads.borrow() > 0;
        let unknown = self.snapshot().iter().any(|t| !t.known);
        if reading || unknown {
            std::time::Duration::ZERO
        } else if self.from_spaces {
            SPACE_LIST_TTL
        } else {
            CONFIG_LIST_TTL
        }
    }

    /// Every prompt: the declared ones, then one per tool.
    pub(crate) fn prompts(&self) -> Vec<rmcp::model::Prompt> {
        prompts::list(&self.declared_prompts, &self.tool_configs())
    }

    /// One prompt, filled in.
    pub(crate) fn prompt(
        &self,
        name: &str,
        arguments: Option<&rmcp::model::JsonObject>,
    ) -> Result<rmcp::model::GetPromptResult, prompts::PromptError> {
        prompts::get(
            &self.declared_prompts,
            &self.tool_configs(),
            name,
            arguments,
        )
    }

    fn tool_configs(&self) -> Vec<ToolConfig> {
        self.snapshot().iter().map(|t| t.config.clone()).collect()
    }

    pub(crate) fn definitions(&self) -> Vec<Tool> {
        self.snapshot()
            .iter()
            .map(|t| t.definition.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradio::{ApiInfo, EndpointInfo};
    use rmcp::model::JsonObject;
    use serde_json::json;

    fn builtin() -> Config {
        Config::load(None).unwrap()
    }

    fn sana_endpoint() -> EndpointInfo {
        let info: ApiInfo =
            serde_json::from_str(crate::fixtures::wire("sanasprint-like.info.json")).unwrap();
        info.named_endpoints["/infer"].clone()
    }

    fn args(v: Value) -> JsonObject {
        v.as_object().unwrap().clone()
    }

    #[tokio::test]
    async fn the_list_holds_as_long_as_its_tools_are_settled() {
        assert_eq!(Registry::new(&builtin()).list_ttl(), CONFIG_LIST_TTL);
        let config = Config::parse("[tools.t]\nspace = \"a/b\"\napi = \"/x\"\n", "t").unwrap();
        let registry = Registry::new(&config);
        // Its inputs are still to be read from the Space.
        assert_eq!(registry.list_ttl(), std::time::Duration::ZERO);
        registry.put(config.tools[0].clone(), InputsState::Known);
        assert_eq!(registry.list_ttl(), SPACE_LIST_TTL);
        registry.first_read_started(tokio::time::Instant::now());
        assert_eq!(registry.list_ttl(), std::time::Duration::ZERO);
        registry.first_read_ended();
        assert_eq!(registry.list_ttl(), SPACE_LIST_TTL);
    }

    #[test]
    fn schemas_show_only_what_the_model_gives() {
        let registry = Registry::new(&builtin());
        let image = registry.get("generate_image").unwrap();
        let tool = &image.definition;
        let schema = Value::Object((*tool.input_schema).clone());
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["required"], json!(["prompt"]));
        assert_eq!(schema["additionalProperties"], false);
        let props = schema["properties"].as_object().unwrap();
        assert_eq!(
            props.keys().collect::<Vec<_>>(),
            ["prompt", "width", "height"]
        );
        assert_eq!(
            props["width"],
            json!({"type": "integer", "description": "Image width in pixels (multiples of 32 work best).", "minimum": 256, "maximum": 2048, "default": 512})
        );
        let tts = registry.get("run_dia_tts").unwrap();
        assert_eq!(
            tts.definition.input_schema["required"],
            json!(["text_input"])
        );
        assert!(registry.get("nope").is_none());
    }

    #[test]
    fn arguments_are_checked_with_their_name() {
        let config = builtin();
        let tool = &config.tools[0];
        let ok =
            check_arguments(tool, Some(&args(json!({"prompt": "a cat", "width": 320})))).unwrap();
        assert_eq!(ok["width"], 320);
        assert_eq!(
            ok["height"], 512,
            "the config default fills what the model left out"
        );

        let e = check_arguments(tool, Some(&args(json!({"width": 320})))).unwrap_err();
        assert_eq!(
            e,
            ToolError::MissingArgument {
                name: "prompt".into()
            }
        );
        let e = check_arguments(tool, Some(&args(json!({"prompt": "x", "seed": 3})))).unwrap_err();
        assert!(
            e.to_string().contains("unknown argument \"seed\"")
                && e.to_string().contains("prompt, width, height"),
            "{e}"
        );
        let e = check_arguments(tool, Some(&args(json!({"prompt": "x", "width": "wide"}))))
            .unwrap_err();
        assert!(
            e.to_string().contains("\"width\" must be a whole number"),
            "{e}"
        );
        let e = check_arguments(tool, Some(&args(json!({"prompt": "x", "height": 99999}))))
            .unwrap_err();
        assert!(e.to_string().contains("above the maximum 2048"), "{e}");
        let e = check_arguments(tool, Some(&args(json!({"prompt": 5})))).unwrap_err();
        assert!(e.to_string().contains("must be a string"), "{e}");
        let e = check_arguments(tool, None).unwrap_err();
        assert_eq!(
            e,
            ToolError::MissingArgument {
                name: "prompt".into()
            }
        );
    }

    #[test]
    fn every_input_is_sent_in_the_endpoints_order() {
        let config = builtin();
        let tool = &config.tools[0];
        let checked =
            check_arguments(tool, Some(&args(json!({"prompt": "a cat", "width": 320})))).unwrap();
        let data = positional_data(tool, &checked, &sana_endpoint()).unwrap();
        assert_eq!(
            data,
            vec![
                json!("a cat"),
                json!("0.6B"),
                json!(0),
                json!(true),
                json!(320),
                json!(512),
                json!(4.0),
                json!(2)
            ]
        );
    }

    #[test]
    fn space_defaults_fill_unlisted_inputs_and_mismatches_are_named() {
        let config = Config::parse(
            "[tools.t]\nspace = \"a/b\"\napi = \"/infer\"\ninputs.prompt = { type = \"string\" }\n",
            "t",
        )
        .unwrap();
        let tool = &config.tools[0];
        let checked = check_arguments(tool, Some(&args(json!({"prompt": "p"})))).unwrap();
        let data = positional_data(tool, &checked, &sana_endpoint()).unwrap();
        assert_eq!(
            data,
            vec![
                json!("p"),
                json!("1.6B"),
                json!(0),
                json!(true),
                json!(1024),
                json!(1024),
                json!(4.5),
                json!(2)
            ]
        );

        let config = Config::parse(
            "[tools.t]\nspace = \"a/b\"\napi = \"/infer\"\ninputs.promt = { type = \"string\" }\n",
            "t",
        )
        .unwrap();
        let e = positional_data(&config.tools[0], &Arguments::new(), &sana_endpoint()).unwrap_err();
        assert!(
            e.to_string().contains("\"promt\"") && e.to_string().contains("prompt, model_size"),
            "{e}"
        );

        let config = Config::parse("[tools.t]\nspace = \"a/b\"\napi = \"/infer\"\n", "t").unwrap();
        let e = positional_data(&config.tools[0], &Arguments::new(), &sana_endpoint()).unwrap_err();
        assert_eq!(
            e,
            ToolError::UnfilledParameter {
                name: "prompt".into()
            }
        );
    }

    #[test]
    fn a_parameter_named_only_by_its_label_is_found_by_the_name_its_schema_shows() {
        // Gradio gives no parameter_name when the function's parameter has
        // none it can show; the tool input is the label in snake case.
        let endpoint: EndpointInfo = serde_json::from_value(json!({
            "parameters": [
                {"label": "My Prompt", "parameter_has_default": false, "type": {"type": "string"}},
                {"label": "Steps", "parameter_has_default": true, "parameter_default": 4, "type": {"type": "number"}}
            ],
            "returns": []
        }))
        .unwrap();
        let config = Config::parse("[tools.t]\nspace = \"a/b\"\napi = \"/x\"\n", "t").unwrap();
        let tool = derive::from_endpoint(&config.tools[0], &endpoint);
        assert_eq!(
            tool.inputs.keys().collect::<Vec<_>>(),
            ["my_prompt", "steps"]
        );
        let checked = check_arguments(&tool, Some(&args(json!({"my_prompt": "hi"})))).unwrap();
        let data = positional_data(&tool, &checked, &endpoint).unwrap();
        assert_eq!(data, [json!("hi"), json!(4)]);
    }

    #[test]
    fn outputs_are_named_from_config_then_labels() {
        let config = builtin();
        assert_eq!(
            output_names(&config.tools[0], &sana_endpoint()),
            ["image", "seed"]
        );
        let bare = Config::parse("[tools.t]\nspace = \"a/b\"\napi = \"/infer\"\n", "t").unwrap();
        assert_eq!(
            output_names(&bare.tools[0], &sana_endpoint()),
            ["result", "seed_used"]
        );
        // Unlabelled outputs (Gradio says `value_<id>`) by kind and place.
        let mut unlabelled = sana_endpoint();
        let textbox = unlabelled.returns[1].clone();
        for (ret, (label, component)) in unlabelled
            .returns
            .iter_mut()
            .zip([("value_6", "Image"), ("value_7", "Textbox")])
        {
            ret.label = Some(label.into());
            ret.component = Some(component.into());
        }
        let mut second = textbox;
        second.label = Some("value_9".into());
        second.component = Some("Textbox".into());
        unlabelled.returns.push(second);
        assert_eq!(
            output_names(&bare.tools[0], &unlabelled),
            ["image", "text", "text_2"]
        );
    }
}

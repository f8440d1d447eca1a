//! The checks of the `[tools.*]`, `[spaces.*]`, `[prompts.*]` and
//! `[clients.*]` tables: names, Spaces, endpoints, inputs, templates and
//! content profiles.

use indexmap::IndexMap;
use serde_json::Value;

use crate::gradio::{Login, PasswordSource, SpaceRef};
use crate::naming::is_valid_tool_name;

use super::*;

impl Validator<'_> {
    /// An `auth` table: a user, and a password from the environment or a
    /// file, never from the file itself.
    pub(super) fn login(&self, table: &str, raw: RawAuth) -> Result<Login, ConfigError> {
        if raw.password.is_some() {
            return Err(self.invalid(
                format!("{table}.password"),
                "a password is never written in spaces.toml: put it in an environment variable (password_env = \"NAME\") or a file (password_file = \"/path\")",
            ));
        }
        if raw.username.trim().is_empty() {
            return Err(self.invalid(format!("{table}.username"), "the username is empty"));
        }
        let password = match (raw.password_env, raw.password_file) {
            (Some(name), None) if !name.trim().is_empty() => {
                PasswordSource::Env(name.trim().to_string())
            }
            (None, Some(path)) if !path.as_os_str().is_empty() => PasswordSource::File(path),
            _ => {
                return Err(self.invalid(
                    table,
                    "give the password's place: exactly one of password_env (an environment variable's name) or password_file",
                ));
            }
        };
        Ok(Login {
            username: raw.username.trim().to_string(),
            password,
        })
    }

    /// One login per app: two tables naming the same address must agree.
    pub(super) fn logins_agree(
        &self,
        logins: Vec<(SpaceRef, Login, String)>,
    ) -> Result<Vec<(SpaceRef, Login)>, ConfigError> {
        let mut agreed: Vec<(SpaceRef, Login, String)> = Vec::new();
        for (space, login, table) in logins {
            match agreed.iter().find(|(s, _, _)| s.base() == space.base()) {
                Some((_, first, _)) if *first == login => {}
                Some((_, _, first_table)) => {
                    return Err(self.invalid(
                        table,
                        format!("{first_table} logs in to the same app ({space}) otherwise; one app has one login"),
                    ));
                }
                None => agreed.push((space, login, table)),
            }
        }
        Ok(agreed.into_iter().map(|(s, l, _)| (s, l)).collect())
    }

    /// A `[clients."<name>"]` table: a client name (as its `clientInfo`
    /// gives it) and the content it takes.
    pub(super) fn client(
        &self,
        name: String,
        raw: RawClient,
    ) -> Result<(String, ContentProfile), ConfigError> {
        let key = format!("clients.{name:?}.content");
        if name.trim().is_empty() {
            return Err(self.invalid(key, "the client name is empty"));
        }
        match self.content(&key, &raw.content)? {
            Some(profile) => Ok((name, profile)),
            None => Err(self.invalid(
                key,
                format!(
                    "expected {}; \"auto\" is what a client without a table gets",
                    ContentProfile::NAMES
                ),
            )),
        }
    }

    /// A prompt: a valid name, and a template whose every `{place}` is one
    /// of its arguments.
    pub(super) fn prompt(&self, name: String, raw: RawPrompt) -> Result<PromptConfig, ConfigError> {
        let table = format!("prompts.{name}");
        if !is_valid_tool_name(&name) {
            return Err(self.invalid(
                &table,
                "a prompt name is 1 to 64 letters, digits, '_' or '-'",
            ));
        }
        if raw.template.trim().is_empty() {
            return Err(self.invalid(format!("{table}.template"), "the template is empty"));
        }
        for place in template_places(&raw.template) {
            if !raw.arguments.contains_key(place) {
                return Err(self.invalid(
                    format!("{table}.template"),
                    format!("{{{place}}} is not one of the prompt's arguments; declare it under [{table}.arguments]"),
                ));
            }
        }
        Ok(PromptConfig {
            name,
            title: raw.title,
            description: raw.description,
            template: raw.template,
            arguments: raw
                .arguments
                .into_iter()
                .map(|(arg, spec)| (arg, (spec.description, spec.required)))
                .collect(),
        })
    }

    pub(super) fn tool(
        &self,
        name: String,
        raw: RawTool,
        base: &CallLimits,
    ) -> Result<ToolConfig, ConfigError> {
        let table = format!("tools.{name}");
        if !is_valid_tool_name(&name) {
            return Err(self.invalid(
                &table,
                "a tool name is 1 to 64 letters, digits, '_' or '-' (MCP clients refuse others)",
            ));
        }
        if RESERVED_TOOL_NAMES.contains(&name.as_str()) {
            return Err(self.invalid(
                &table,
                format!("{name} is the name of a built-in tool (job handles, diagnostics); choose another"),
            ));
        }
        let space = self.space(&table, &raw.space, raw.hub_id.as_deref())?;
        let api = normalize_api(&raw.api).ok_or_else(|| {
            self.invalid(
                format!("{table}.api"),
                format!(
                    "expected an endpoint name such as \"/predict\" (letters, digits, '_', '-'), found {:?}",
                    raw.api
                ),
            )
        })?;
        let inputs_from_space = raw.inputs.is_none();
        let inputs = raw
            .inputs
            .unwrap_or_default()
            .into_iter()
            .map(|(input, spec)| {
                let key = format!("{table}.inputs.{input}");
                if input.is_empty() {
                    return Err(self.invalid(key, "an input needs a name"));
                }
                Ok((input, self.input(&key, spec)?))
            })
            .collect::<Result<IndexMap<_, _>, _>>()?;
        for (i, output) in raw.outputs.iter().enumerate() {
            if output.is_empty() || raw.outputs[..i].contains(output) {
                return Err(self.invalid(
                    format!("{table}.outputs"),
                    format!("output names must be non-empty and distinct; {output:?} is not"),
                ));
            }
        }
        let described = raw
            .description
            .as_deref()
            .is_some_and(|d| !d.trim().is_empty());
        let description = raw
            .description
            .map(|d| d.trim().to_string())
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| default_description(&api, &space));
        Ok(ToolConfig {
            inputs_from_space,
            described,
            limits: self.limits(&table, &raw.limits, base)?,
            send_hf_token: raw.hf_token.unwrap_or(space.is_hub()),
            name,
            space,
            api,
            title: raw.title,
            description,
            inputs,
            outputs: raw.outputs,
            output_schema: None,
        })
    }

    /// A table's `space`, with its `hub_id` when it names one.
    pub(super) fn space(
        &self,
        table: &str,
        space: &str,
        hub_id: Option<&str>,
    ) -> Result<SpaceRef, ConfigError> {
        let space = SpaceRef::parse(space)
            .map_err(|e| self.invalid(format!("{table}.space"), e.to_string()))?;
        match hub_id {
            None => Ok(space),
            Some(id) => space
                .with_hub_id(id)
                .map_err(|e| self.invalid(format!("{table}.hub_id"), e.to_string())),
        }
    }

    pub(super) fn space_alias(
        &self,
        alias: String,
        raw: RawSpace,
        base: &CallLimits,
    ) -> Result<SpaceConfig, ConfigError> {
        let table = format!("spaces.{alias}");
        // Tool names are `<alias>_<endpoint>`: the alias must leave room for both.
        if !is_valid_tool_name(&alias) || alias.len() > 40 {
            return Err(self.invalid(
                &table,
                "an alias is 1 to 40 letters, digits, '_' or '-' (it starts each tool name)",
            ));
        }
        let space = self.space(&table, &raw.space, raw.hub_id.as_deref())?;
        Ok(SpaceConfig {
            limits: self.limits(&table, &raw.limits, base)?,
            send_hf_token: raw.hf_token.unwrap_or(space.is_hub()),
            alias,
            space,
        })
    }

    pub(super) fn input(&self, key: &str, raw: RawInput) -> Result<InputConfig, ConfigError> {
        if let Some(value) = raw.value {
            let shown = raw.kind.is_some()
                || raw.description.is_some()
                || raw.default.is_some()
                || raw.minimum.is_some()
                || raw.maximum.is_some()
                || raw.choices.is_some()
                || raw.required.is_some();
            if shown {
                return Err(self.invalid(
                    key,
                    "an input with a fixed `value` is hidden from the model and takes no other key",
                ));
            }
            return Ok(InputConfig::Fixed(self.json(key, "value", value)?));
        }
        let default = raw
            .default
            .map(|d| self.json(key, "default", d))
            .transpose()?;
        let choices = raw
            .choices
            .map(|c| {
                c.into_iter()
                    .map(|v| self.json(key, "enum", v))
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        let kind = raw
            .kind
            .or_else(|| default.as_ref().and_then(ValueKind::of))
            .or_else(|| choices.as_ref().and_then(|c| c.first()).and_then(ValueKind::of))
            .or_else(|| (raw.minimum.is_some() || raw.maximum.is_some()).then_some(ValueKind::Number))
            .ok_or_else(|| {
                self.invalid(
                    key,
                    "say the input's `type` (\"string\", \"number\", \"integer\" or \"boolean\"), give it a `default`, or fix it with `value`",
                )
            })?;
        self.bounds_and_choices(key, kind, raw.minimum, raw.maximum, choices.as_deref())?;
        let input = ExposedInput {
            kind,
            description: raw.description,
            required: raw.required.unwrap_or(default.is_none()),
            default,
            minimum: raw.minimum,
            maximum: raw.maximum,
            choices,
            shape: None,
        };
        if let Some(default) = &input.default
            && let Err(problem) = input.check(default)
        {
            return Err(self.invalid(key, format!("`default` {problem}")));
        }
        if input.required && input.default.is_some() {
            return Err(self.invalid(key, "a required input cannot have a `default`"));
        }
        Ok(InputConfig::Exposed(input))
    }

    /// `minimum`/`maximum` only on numbers, in order; `enum` not empty and
    /// of the input's type.
    fn bounds_and_choices(
        &self,
        key: &str,
        kind: ValueKind,
        minimum: Option<f64>,
        maximum: Option<f64>,
        choices: Option<&[Value]>,
    ) -> Result<(), ConfigError> {
        let numeric = matches!(kind, ValueKind::Number | ValueKind::Integer);
        if !numeric && (minimum.is_some() || maximum.is_some()) {
            return Err(self.invalid(
                key,
                format!(
                    "`minimum` and `maximum` need a numeric type, not {}",
                    kind.as_str()
                ),
            ));
        }
        if let (Some(lo), Some(hi)) = (minimum, maximum)
            && lo > hi
        {
            return Err(self.invalid(key, format!("`minimum` {lo} is above `maximum` {hi}")));
        }
        if let Some(choices) = choices {
            if choices.is_empty() {
                return Err(self.invalid(key, "`enum` needs at least one choice"));
            }
            if let Some(bad) = choices.iter().find(|c| !kind.admits(c)) {
                return Err(self.invalid(
                    key,
                    format!("choice {bad} in `enum` is not of type {}", kind.as_str()),
                ));
            }
        }
        Ok(())
    }

    pub(super) fn json(
        &self,
        key: &str,
        what: &str,
        value: toml::Value,
    ) -> Result<Value, ConfigError> {
        if matches!(value, toml::Value::Datetime(_)) {
            return Err(self.invalid(key, format!("`{what}` cannot be a date")));
        }
        serde_json::to_value(value).map_err(|e| self.invalid(key, format!("`{what}`: {e}")))
    }
}

/// `"infer"` and `"/infer"` both name `/infer`; anything that is not a plain
/// endpoint name is refused, since it becomes part of a URL path.
pub(super) fn normalize_api(api: &str) -> Option<String> {
    let name = api.trim().strip_prefix('/').unwrap_or(api.trim());
    let ok = !name.is_empty()
        && name.len() <= 200
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    ok.then(|| format!("/{name}"))
}

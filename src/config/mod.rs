//! The `spaces.toml` model and its validation.
//!
//! A config names tools, one `[tools.<name>]` table each, with the Space that
//! serves it (`space`, a Hub id or a URL) and the Gradio endpoint (`api`).
//! Everything else (descriptions, the inputs the model sees, fixed values,
//! timeouts, output handling) is optional and has a sensible default, so that
//! a user who adds a Space writes as little as possible.
//!
//! Validation happens here, once, at start-up: a config that loads is one the
//! rest of the program can trust (a tool's default fits its own bounds, a
//! fixed input is not also shown to the model, names are valid MCP tool names).
//! Every error names the file, the key and what was expected, because the
//! person reading it has only the file in front of them.
//!
//! The files: `model` (the validated config the rest of the program reads),
//! `raw` (the file's shape as serde reads it), `validate` and `tables` (every
//! rule, once: settings and limits; the tool, Space and prompt tables), and
//! `defaults` (each default and bound, named).

mod defaults;
mod model;
mod raw;
mod tables;
mod validate;

pub(crate) use defaults::*;
pub(crate) use model::*;
use raw::*;
use validate::*;

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use std::time::Duration;

/// The config built into the binary, used when no file is given.
pub(crate) const DEFAULT_CONFIG: &str = include_str!("../../spaces.toml");

/// What can be wrong with a config, each naming where.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{origin}: {message}")]
    Syntax { origin: String, message: String },
    #[error("{origin}: {key}: {message}")]
    Invalid {
        origin: String,
        key: String,
        message: String,
    },
}

/// A loaded, validated config.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// Where the config came from, for messages: a path, or "built-in spaces.toml".
    pub(crate) origin: String,
    pub(crate) settings: Settings,
    pub(crate) tools: Vec<ToolConfig>,
    /// Spaces whose every endpoint becomes a tool, once its Space has been read.
    pub(crate) spaces: Vec<SpaceConfig>,
    /// Prompts the config declares (`[prompts.<name>]`), beside one per tool.
    pub(crate) prompts: Vec<PromptConfig>,
    /// The logins of apps launched with `auth=...` (`auth` in a tool or
    /// `[spaces.*]` table), one per app.
    pub(crate) logins: Vec<(crate::gradio::SpaceRef, crate::gradio::Login)>,
}

impl Config {
    /// The longest a call may run, over every tool and `[spaces]` table.
    pub(crate) fn longest_timeout(&self) -> Duration {
        let tools = self.tools.iter().map(|t| t.limits.timeout);
        let spaces = self.spaces.iter().map(|s| s.limits.timeout);
        tools
            .chain(spaces)
            .max()
            .unwrap_or(self.settings.limits.timeout)
    }
}

impl Config {
    /// The config at `path` (an empty path, as an installer leaves an unset
    /// option, means none), else the built-in one; then the output folder
    /// from `SPACES_MCP_OUTPUT_DIR` and the content profile from
    /// `SPACES_MCP_CONTENT`, when set.
    pub(crate) fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let mut config = match path.filter(|p| !p.as_os_str().is_empty()) {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
                Config::parse(&text, &path.display().to_string())?
            }
            None => Config::parse(DEFAULT_CONFIG, "built-in spaces.toml")?,
        };
        if let Some(dir) = std::env::var_os(OUTPUT_DIR_ENV).filter(|d| !d.is_empty()) {
            config.settings.output_dir = PathBuf::from(dir);
            config.settings.private_output_dir = false;
        }
        if let Some(name) = std::env::var(CONTENT_ENV)
            .ok()
            .filter(|n| !n.trim().is_empty())
        {
            config.set_content(&name, CONTENT_ENV)?;
        }
        Ok(config)
    }

    /// Sets what every client's results hold (`--content`, or
    /// `SPACES_MCP_CONTENT`), over `content` in the file; `origin` names
    /// where the value came from in an error.
    pub(crate) fn set_content(&mut self, name: &str, origin: &str) -> Result<(), ConfigError> {
        let v = Validator { origin };
        self.settings.content = v.content("content", name)?;
        Ok(())
    }

    /// Parses and validates config text; `origin` names it in errors.
    pub(crate) fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            origin: origin.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        let v = Validator { origin };
        let mut settings = v.settings(raw.settings)?;
        settings.clients = raw
            .clients
            .into_iter()
            .map(|(name, client)| v.client(name, client))
            .collect::<Result<IndexMap<_, _>, _>>()?;
        settings.hub = v.hub(raw.hub)?;
        // The Hub tools alone are a valid config: they call any Space.
        if raw.tools.is_empty() && raw.spaces.is_empty() && !settings.hub.tools {
            return Err(v.invalid(
                "tools",
                "no tool is defined: add a [tools.<name>] table, a [spaces.<alias>] table, or [hub] tools = true",
            ));
        }
        let mut logins = Vec::new();
        let mut login = |table: String, space: &crate::gradio::SpaceRef, auth: Option<RawAuth>| {
            if let Some(auth) = auth {
                logins.push((space.clone(), v.login(&table, auth)?, table));
            }
            Ok::<(), ConfigError>(())
        };
        let mut tools = Vec::with_capacity(raw.tools.len());
        for (name, mut tool) in raw.tools {
            let auth = tool.auth.take();
            let tool = v.tool(name, tool, &settings.limits)?;
            login(format!("tools.{}.auth", tool.name), &tool.space, auth)?;
            tools.push(tool);
        }
        let mut spaces = Vec::with_capacity(raw.spaces.len());
        for (alias, mut space) in raw.spaces {
            let auth = space.auth.take();
            let space = v.space_alias(alias, space, &settings.limits)?;
            login(format!("spaces.{}.auth", space.alias), &space.space, auth)?;
            spaces.push(space);
        }
        let logins = v.logins_agree(logins)?;
        let prompts = raw
            .prompts
            .into_iter()
            .map(|(name, prompt)| v.prompt(name, prompt))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Config {
            origin: origin.to_string(),
            settings,
            tools,
            spaces,
            prompts,
            logins,
        })
    }
}

#[cfg(test)]
mod tests;

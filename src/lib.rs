//! spaces-mcp: Gradio apps, above all Hugging Face Spaces, as MCP tools.
//!
//! Data flows one way through the modules:
//! [`config`] (spaces.toml) → [`tools`] (schemas, argument checks) →
//! [`gradio`] (calling the Space) → [`output`] (MCP content) →
//! [`runner`] (one call end to end) → [`server`] (the MCP handler and its transports).

pub mod config;
mod dirs;
pub mod discover;
pub mod discovery;
#[cfg(test)]
mod fixtures;
pub mod gradio;
pub mod inputs;
pub mod output;
pub mod progress;
pub mod runner;
pub mod server;
pub mod tools;

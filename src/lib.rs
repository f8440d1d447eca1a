//! spaces-mcp: Gradio apps, above all Hugging Face Spaces, as MCP tools.
//!
//! Imports only point down this list; `gradio` knows nothing above it.
//! - [`cli`]: the command line (`main.rs` hands it the parsed arguments).
//! - `server`: the MCP handler and one file per transport.
//! - `discovery`: reading Spaces for tools whose inputs come from them.
//! - `call`: one tool call end to end (files, outputs, progress, errors).
//! - `tools`: the registry, schemas, argument checks and mapping.
//! - `config`: `spaces.toml`, loaded and validated (model, raw shape,
//!   defaults and rules in separate files).
//! - `naming`, `validate`, `dirs`: names every layer shares (the built-in
//!   tools' too); checking values against a JSON Schema; where files live.
//! - `hub`: the Hugging Face Hub's API (searching Spaces, a Space's record),
//!   for the opt-in Hub tools; beside `gradio`, knowing only it.
//! - `gradio`: the Gradio protocol, one client per Space.
//! - `jobs`: the job store behind tasks and detached calls (beside `gradio`
//!   at the bottom: it knows nothing above it). The project keeps its own
//!   store rather than rmcp's in-memory task manager because one store serves
//!   both MCP tasks and job handles for clients without tasks, binds every
//!   job to its owner, bounds what it keeps, and has a second implementation
//!   over Valkey/Redis (leases, cancels across replicas) behind the same trait.
//! - `fleet`: what replicas share through Valkey/Redis (jobs, each Space's
//!   call slots, Space descriptions), at the bottom too: it implements the
//!   job store's trait and `gradio`'s shared-slots trait.
//! - `metrics`: the counters behind `/metrics`.
//! - `alloc`: the allocator tuned at start (memory given back).

mod alloc;
mod call;
pub mod cli;
mod config;
mod dirs;
mod discovery;
#[cfg(test)]
mod fixtures;
mod fleet;
mod gradio;
mod hub;
mod jobs;
mod metrics;
mod naming;
mod server;
mod tools;
mod validate;

/// For the benchmark (`examples/bench.rs`) only: not an API.
#[doc(hidden)]
pub mod bench_support {
    /// A JPEG preview of `bytes` within `max_side` and `room`: its size in bytes.
    pub fn preview_len(bytes: &[u8], max_side: u32, room: usize) -> Option<usize> {
        crate::call::budget::preview(bytes, max_side, room).map(|p| p.jpeg.len())
    }
}

//! spaces-mcp: Gradio apps, above all Hugging Face Spaces, as MCP tools.
//!
//! Words, one meaning each:
//! - **tool**: what an MCP client lists and calls; one Gradio endpoint (or
//!   one of the server's own, the built-ins).
//! - **Space**: a Gradio app, on the Hub (`owner/name`) or at a URL.
//! - **endpoint**: one named API of a Space (`/infer`).
//! - **call**: one `tools/call`, end to end: the server answers it
//!   (`server::SpacesServer::answer_call`: in its request, or as a job) and
//!   the runner makes it (`call::Runner::call_tool`).
//! - **attempt**: a call's work on its Space, once its arguments are
//!   checked: its place in line, its files, its run (`Runner::attempt`).
//! - **run**: one endpoint run on a Space (`gradio::SpaceClient::run_endpoint`),
//!   which Gradio calls an **event** (a queue submission); a ZeroGPU wait
//!   sends a run again.
//! - **job**: a call kept in the job store to outlive its request: an MCP
//!   **task** for clients with the tasks extension, a job handle
//!   (`await_job`) for others.
//! - **owner**: whose a call, job, saved file or upload is (a digest of the
//!   caller's credentials).
//! - **profile**: what content a client's results hold (rich, images, text).
//!
//! Imports only point down this list: each module may use those after it,
//! never one before, and no module's files import each other in a circle;
//! `layers.rs` checks the order (a `use` that reaches up fails `cargo
//! test`, naming the file and line).
//! - [`cli`]: the command line (`main.rs` hands it the parsed arguments).
//! - `server`: the MCP handler, the server's own tools, one file per
//!   transport.
//! - `discovery`: reading Spaces for tools whose inputs come from them.
//! - `call`: one tool call end to end (arguments, file inputs, the Space,
//!   progress, errors, calls that go on as jobs).
//! - `result`: what a call's outputs become for the client (rendering,
//!   readable text, the result's shape per client, the size budget, saved
//!   files and uploads, what the MCP App view needs).
//! - `tools`: the registry, schemas, argument checks and mapping.
//! - `config`: `spaces.toml`, loaded and validated (model, raw shape,
//!   defaults and rules in separate files).
//! - `validate`, `naming`, `dirs`: checking values against a JSON Schema;
//!   names every layer shares (the built-in tools' too); where files live.
//! - `metrics`: the counters behind `/metrics`.
//! - `hub`: the Hugging Face Hub's API (searching Spaces, a Space's record),
//!   for the opt-in Hub tools.
//! - `fleet`: what replicas share through Valkey/Redis (jobs, each Space's
//!   call slots, Space descriptions): it implements the job store's trait
//!   and `gradio`'s shared-slots trait.
//! - `jobs`: the job store behind tasks and detached calls. The project
//!   keeps its own store rather than rmcp's in-memory task manager because
//!   one store serves both MCP tasks and job handles for clients without
//!   tasks, binds every job to its owner, bounds what it keeps, and has a
//!   second implementation over Valkey/Redis (leases, cancels across
//!   replicas) behind the same trait.
//! - `gradio`: the Gradio protocol, one client per Space; it knows nothing
//!   of MCP.
//! - `locks`: the one way a lock is taken (a poisoned lock's data as it is).
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
#[cfg(test)]
mod fuzzing;
mod gradio;
mod hub;
mod jobs;
#[cfg(test)]
mod layers;
mod locks;
mod metrics;
mod naming;
mod result;
mod server;
mod tools;
mod validate;

/// For the benchmark (`examples/bench.rs`) only: not an API.
#[doc(hidden)]
pub mod bench_support {
    /// A JPEG preview of `bytes` within `max_side` and `room`: its size in bytes.
    pub fn preview_len(bytes: &[u8], max_side: u32, room: usize) -> Option<usize> {
        crate::result::budget::preview(bytes, max_side, room).map(|p| p.jpeg.len())
    }
}

//! What a call's outputs become for the client: `render` (outputs to the
//! parts of a result), `file_output` (file outputs, saved as they arrive), `readable` (a value as
//! text a model reads), `mime` (file names and types), `data_uri` (`data:`
//! URIs decoded), `shape` (the parts in the order and kinds the client
//! takes), `clients` (which content each client takes), `schema_fit`
//! (structured content that fits the output schema), `budget` (what fits in
//! the result: previews, MP3, links), `saved` (the server's own folder of
//! saved files and uploads, per owner), `view_meta` (what the MCP App view
//! needs beside a result) and `text` (a Space's words made safe to pass on,
//! and times as a person reads them).
//!
//! It sits below `call` (the pipeline that runs a call and hands its outputs
//! here) and knows nothing of it.

pub(crate) mod budget;
pub(crate) mod clients;
pub(crate) mod data_uri;
pub(crate) mod file_output;
pub(crate) mod mime;
pub(crate) mod readable;
pub(crate) mod render;
pub(crate) mod saved;
pub(crate) mod schema_fit;
pub(crate) mod shape;
pub(crate) mod text;
pub(crate) mod view_meta;

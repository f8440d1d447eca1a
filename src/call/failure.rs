//! Why a call failed, in one place: the pipeline's steps, `explain` (the
//! line a person reads) and `files` (file inputs) all name these, so each
//! sits beside the others rather than above them.

use std::time::Duration;

use super::gpu_wait;
use crate::gradio::GradioError;
use crate::result::render::OutputError;
use crate::tools::ToolError;

/// Why a call produced no result at all.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RunError {
    #[error("unknown tool {name:?}; this server has {available}")]
    UnknownTool { name: String, available: String },
    #[error("the call was cancelled")]
    Cancelled,
}

/// Why a call failed, in the order it can happen.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Failure {
    #[error(transparent)]
    Arguments(ToolError),
    #[error(transparent)]
    Mapping(ToolError),
    #[error(transparent)]
    Gradio(#[from] GradioError),
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error("no result within {}s", .0.as_secs())]
    Timeout(Duration),
    #[error("the Space refused for want of GPU: {}", .0.message)]
    GpuRefused(gpu_wait::Refused),
}

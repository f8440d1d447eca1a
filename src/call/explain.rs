//! A failed call, in one line a person can act on: which tool, which Space
//! and endpoint, what went wrong, and what to do about it. Whatever part of
//! it the Space wrote is bounded and cleaned first (see `text`).

use serde_json::{Value, json};

use super::Failure;
use super::gpu_wait::Refused;
use crate::config::ToolConfig;
use crate::gradio::{GpuRefusal, GradioError};
use crate::result::render::OutputError;
use crate::result::text::clock;
use crate::result::text::{SPACE_TEXT_MAX, clean_text, strip_html};

/// One line: what failed, where, why, and what to do.
pub(super) fn explain(tool: &ToolConfig, failure: &Failure) -> String {
    let where_ = format!(
        "{} (Space {}, endpoint {})",
        tool.name, tool.space, tool.api
    );
    if let Failure::Arguments(e) = failure {
        return format!(
            "{}: invalid arguments: {e}. Fix the arguments and call again.",
            tool.name
        );
    }
    if let Failure::GpuRefused(refused) = failure {
        return gpu_refused(&where_, refused);
    }
    let hint = hint(tool, failure);
    let cause = match failure {
        // Apps (ZeroGPU above all) write HTML for a browser; the model reads text.
        Failure::Gradio(GradioError::App(message)) => {
            format!("the Space reported an error: {}", strip_html(message))
        }
        other => other.to_string(),
    };
    // Whatever a Space wrote reaches the model bounded and without escapes.
    let cause = clean_text(&cause, SPACE_TEXT_MAX);
    let mut line = format!("{where_} failed: {cause}");
    if !hint.is_empty() {
        line.push_str(". ");
        line.push_str(&hint);
    }
    line
}

/// A ZeroGPU refusal: what the Space said, when to retry, whose quota it
/// was and how to use one's own.
fn gpu_refused(where_: &str, refused: &Refused) -> String {
    let said = clean_text(&strip_html(&refused.message), SPACE_TEXT_MAX);
    let what = match refused.refusal {
        GpuRefusal::Busy => "no ZeroGPU was free",
        GpuRefusal::Quota { .. } => "the GPU quota is spent",
    };
    let again = if refused.waited {
        " (it was still refused after waiting once)"
    } else {
        ""
    };
    let when = match refused.refusal.retry_after() {
        Some(wait) => format!("Try again in {}", clock(wait)),
        None => "Try again later".to_string(),
    };
    let whose = if refused.token_sent {
        "The call carried your HF token, so it used that account's quota: wait for it to refill, use an account with more (PRO), or duplicate the Space to run it on hardware of your own."
    } else {
        "The call carried no HF token, so it used the small anonymous quota: set HF_TOKEN (or, over HTTP where the server takes client tokens, send X-HF-Authorization) to use your own account's quota, or duplicate the Space to run it on hardware of your own."
    };
    format!("{where_} failed: {what}{again}: {said}. {when}. {whose}")
}

/// What an agent can act on, beside the text: for a ZeroGPU refusal, when
/// to retry.
pub(super) fn structured(failure: &Failure) -> Option<Value> {
    let Failure::GpuRefused(refused) = failure else {
        return None;
    };
    Some(json!({
        "error": match refused.refusal {
            GpuRefusal::Busy => "gpu_busy",
            GpuRefusal::Quota { .. } => "gpu_quota",
        },
        "retry_after_seconds": refused.refusal.retry_after().map(|w| w.as_secs()),
        "hf_token_sent": refused.token_sent,
    }))
}

fn hint(tool: &ToolConfig, failure: &Failure) -> String {
    let page = tool.space.page();
    match failure {
        Failure::Arguments(_) | Failure::GpuRefused(_) => String::new(),
        Failure::Mapping(_) => "The config does not match the Space's API; see the Space's \"Use via API\" page.".into(),
        Failure::Timeout(_) => format!(
            "The Space may be busy, asleep or overloaded: try again, or raise `timeout` for this tool in spaces.toml (now {}s).",
            tool.limits.timeout.as_secs()
        ),
        Failure::Output(OutputError::Save { .. }) => "Set `output_dir` in spaces.toml to a folder this user can write.".into(),
        Failure::Output(OutputError::NoLocation) => String::new(),
        Failure::Gradio(e) | Failure::Output(OutputError::Download(e)) => match e {
            GradioError::Unreachable { .. } if tool.space.is_hub() => format!(
                "Check that the Space exists and is running at {page}; a sleeping Space takes a minute or two to wake, so try again."
            ),
            GradioError::Unreachable { .. } => format!("Check that the Gradio app is running at {page}."),
            GradioError::Http { status: 401 | 403, .. } if tool.space.is_hub() => {
                "The Space may be private or gated: set HF_TOKEN to a Hugging Face token that can access it.".into()
            }
            GradioError::Http { status: 401, .. } => {
                "The app asks for a login: add auth = { username = \"…\", password_env = \"NAME\" } to this tool (or its [spaces.*] table) in spaces.toml.".into()
            }
            GradioError::Http { status: 403, .. } => {
                "The app refused access: check that this server may use it.".into()
            }
            GradioError::LoginRefused { .. } => {
                "Check the username in this tool's `auth` in spaces.toml, and the password where `auth` says it is.".into()
            }
            GradioError::LoginSecret { .. } => {
                "Set the password where this tool's `auth` in spaces.toml says it is (password_env or password_file).".into()
            }
            GradioError::Http { status: 404, .. } => {
                format!("No Gradio app answers there: check `space` in spaces.toml, and that {page} is up.")
            }
            GradioError::Http { status: 429, .. } => {
                "The Space is rate-limiting: wait a little, or set HF_TOKEN so calls count against your own account.".into()
            }
            GradioError::Http { status: 500..=599, .. } => format!("The Space failed; it may be restarting: try again later, or check {page}."),
            GradioError::Http { .. } => String::new(),
            GradioError::EventRefused { .. } => format!(
                "The Space did not accept the job even after its API was read again; check `api` in spaces.toml against {page}."
            ),
            GradioError::UnknownEndpoint { .. } => {
                format!("Set `api` in spaces.toml to one of those (the Space's \"Use via API\" page at {page} lists them).")
            }
            GradioError::Protocol { .. } => format!("Check that {page} is a Gradio app (version 4.20 or later)."),
            GradioError::App(message) if message.contains("GPU quota") || message.contains("No GPU") => {
                "Set HF_TOKEN to use your own ZeroGPU quota, wait for the quota to refill, or duplicate the Space.".into()
            }
            GradioError::App(_) => String::new(),
            GradioError::AppHidden => String::new(),
            GradioError::SharedSlots { .. } => {
                "The fleet's Valkey/Redis store is out of reach: try again in a moment; the operator should check `--store` and the store's health (`/health`).".into()
            }
            GradioError::Cancelled => "The Space's operator may have stopped it; try again.".into(),
            GradioError::Idle(_) | GradioError::StreamBroken(_) | GradioError::StreamEnded => {
                "The connection to the Space was lost; try again (raise `idle_timeout` in spaces.toml if the Space is slow to answer).".into()
            }
            GradioError::ForeignFile { .. } => {
                "The Space names its files on another address (a proxy?): set `space` to the address it serves files from.".into()
            }
            GradioError::TooLarge { .. } => "Raise `download_max_bytes` in spaces.toml to accept larger files.".into(),
            GradioError::Oversize { .. } => "The Space sent far more than a Gradio app does; check that it is the app you meant.".into(),
            GradioError::ForeignPrefix { .. } => format!(
                "This Space may be trying to capture your token; if you trust it, set `space` to the address it names. See {page}."
            ),
            GradioError::Write(_) => "Check that `output_dir` in spaces.toml is a folder this user can write, on a disk with room.".into(),
            GradioError::Setup(_) | GradioError::SpaceDown(_) => String::new(),
        },
    }
}

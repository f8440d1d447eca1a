//! What one request brings beside its parameters, read in one place: who
//! sent it (the owner of its credentials, the client's own HF token), when
//! it arrived, what its protocol version allows, and where its progress and
//! log lines go. The transports put the raw parts in the request's
//! extensions (stdio and legacy SSE an [`Arrival`], HTTP the request's
//! `Parts`); the handler reads them only through here.

// SEP-2577 deprecates logging in rmcp; clients still opt in to it.
#![allow(deprecated)]

use std::sync::Arc;

use rmcp::RoleServer;
use rmcp::model::LoggingLevel;
use rmcp::service::RequestContext;

use super::outbox;
use crate::call::{CallOptions, Runner};
use crate::config::ContentProfile;
use crate::gradio::HfToken;
use crate::jobs::Owner;
use crate::result::shape::{Audience, Features};

/// When a request arrived: stamped by the transport while messages still
/// pass one by one, and used to start calls to a Space in that order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Arrival(pub(crate) u64);

/// Hands out arrival stamps, one sequence per server.
#[derive(Debug, Clone, Default)]
pub(crate) struct Arrivals(Arc<std::sync::atomic::AtomicU64>);

impl Arrivals {
    /// How many requests arrived so far.
    pub(crate) fn count(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub(crate) fn next(&self) -> Arrival {
        Arrival(self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst))
    }
}

/// Who is calling, as far as jobs and saved files are concerned: over HTTP,
/// the credentials the request carries (bearer token, HF token); over
/// stdio, the one client.
pub(super) fn owner_of(context: &RequestContext<RoleServer>) -> Owner {
    owner_of_extensions(&context.extensions)
}

/// The owner of a request's or a notification's extensions (see [`owner_of`]).
pub(super) fn owner_of_extensions(extensions: &rmcp::model::Extensions) -> Owner {
    match extensions.get::<axum::http::request::Parts>() {
        Some(parts) => owner_of_headers(&parts.headers),
        None => Owner::local(),
    }
}

/// The owner an HTTP request's headers name.
pub(super) fn owner_of_headers(headers: &axum::http::HeaderMap) -> Owner {
    let header = |name: &'static str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(|v| (name, v))
    };
    Owner::of_credentials(
        [header("authorization"), header("x-hf-authorization")]
            .into_iter()
            .flatten(),
    )
}

/// The HF token an MCP client sent with this HTTP request, as Hugging Face's
/// own MCP server takes it: `X-HF-Authorization: Bearer hf_…`.
fn client_hf_token(context: &RequestContext<RoleServer>) -> Option<HfToken> {
    let parts = context.extensions.get::<axum::http::request::Parts>()?;
    let value = parts
        .headers
        .get("x-hf-authorization")?
        .to_str()
        .ok()?
        .trim();
    let token = value.strip_prefix("Bearer ").unwrap_or(value).trim();
    (!token.is_empty()).then(|| HfToken::new(token))
}

/// When the request arrived: stamped by our stream transports, or by the
/// HTTP layer on the request.
fn arrival_of(context: &RequestContext<RoleServer>) -> Option<u64> {
    context
        .extensions
        .get::<Arrival>()
        .or_else(|| {
            context
                .extensions
                .get::<axum::http::request::Parts>()
                .and_then(|parts| parts.extensions.get::<Arrival>())
        })
        .map(|a| a.0)
}

/// The content profile an HTTP request asks for on its URL
/// (`/mcp?content=text`; legacy SSE passes the `/sse` URL's on to its
/// `/messages` URL): one client of a shared server may choose for itself,
/// as hf-mcp-server's `?no_image_content=true` lets it. A name that is not
/// a profile is ignored (and logged), so a typo never breaks a session.
fn asked_content(context: &RequestContext<RoleServer>) -> Option<ContentProfile> {
    let parts = context.extensions.get::<axum::http::request::Parts>()?;
    let value = content_in_query(parts.uri.query()?)?;
    let profile = ContentProfile::parse(&value);
    if profile.is_none() {
        tracing::warn!(
            asked = %crate::result::text::clean_text(&value, 40),
            "?content= names no content profile (rich, images, text): ignored"
        );
    }
    profile
}

/// The `content` parameter of a URL's query, decoded.
pub(super) fn content_in_query(query: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(key, _)| key == "content")
        .map(|(_, value)| value.into_owned())
}

/// How a tool call of this request is made: what its client takes (its
/// content profile, and features by protocol version), its owner, its
/// arrival, the client's HF token (when the server takes one), progress if
/// asked for, and the Space's log lines at the request's own level
/// (2026-07-28) or else `session_log_level`.
pub(super) fn call_options(
    context: &RequestContext<RoleServer>,
    runner: &Runner,
    session_log_level: Option<LoggingLevel>,
) -> CallOptions {
    let version = context.protocol_version();
    let log_level = context.meta.log_level().or(session_log_level);
    let client = context.client_info();
    let profile = runner.content_for(
        client.as_ref().map(|c| c.name.as_str()),
        asked_content(context),
    );
    tracing::debug!(
        client = client.as_ref().map(|c| c.name.as_str()).unwrap_or(""),
        content = profile.name(),
        "the client's content profile"
    );
    CallOptions {
        audience: Audience {
            profile,
            features: Features::for_version(
                version.as_ref().map(|v| v.as_str()).unwrap_or("2024-11-05"),
            ),
        },
        arrival: arrival_of(context),
        cancel: context.ct.clone(),
        client_token: if runner.accepts_client_token() {
            client_hf_token(context)
        } else {
            None
        },
        progress: outbox::progress_sink(context),
        log: log_level.map(|floor| outbox::log_sink(context, floor)),
        owner: owner_of(context),
        polled: false,
        view: runner.settings().app_view
            && super::app_view::negotiated(context.client_capabilities().as_ref()),
    }
}

//! Who may talk to the HTTP server: Host and Origin checks against DNS
//! rebinding (a web page whose name resolves to 127.0.0.1 must not reach a
//! local server), and an optional bearer token. Applied to every route.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// Names that always mean this machine.
const LOOPBACK: &[&str] = &["localhost", "127.0.0.1", "::1"];

#[derive(Debug, Clone, Default)]
pub(crate) struct AccessPolicy {
    /// Extra names (or `name:port`) accepted in `Host`, beside the loopback ones.
    pub(crate) allowed_hosts: Vec<String>,
    /// Extra origins (`scheme://host[:port]`, `:*` for any port) accepted in
    /// `Origin`, beside loopback ones. Requests without `Origin` (not from a
    /// browser) pass.
    pub(crate) allowed_origins: Vec<String>,
    /// When set, every route but `/health` needs `Authorization: Bearer <it>`.
    pub(crate) bearer_token: Option<BearerToken>,
}

/// The token clients must present. Never printed.
#[derive(Clone)]
pub(crate) struct BearerToken(String);

impl BearerToken {
    pub(crate) fn new(token: String) -> BearerToken {
        BearerToken(token)
    }

    /// Compares in time that does not depend on where the strings differ, so the
    /// token cannot be guessed byte by byte from response times.
    fn matches(&self, presented: &[u8]) -> bool {
        let expected = self.0.as_bytes();
        let mut difference = expected.len() ^ presented.len();
        for (i, &e) in expected.iter().enumerate() {
            let p = presented.get(i).copied().unwrap_or(0);
            difference |= usize::from(e ^ p);
        }
        difference == 0
    }
}

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerToken(<redacted>)")
    }
}

impl AccessPolicy {
    fn host_allowed(&self, host: &str) -> bool {
        let host = host.trim().to_ascii_lowercase();
        let name = host_name(&host);
        LOOPBACK.contains(&name)
            || self.allowed_hosts.iter().any(|allowed| {
                allowed.eq_ignore_ascii_case(&host) || allowed.eq_ignore_ascii_case(name)
            })
    }

    fn origin_allowed(&self, origin: &str) -> bool {
        let Ok(url) = url::Url::parse(origin) else {
            return self.allowed_origins.iter().any(|o| o == origin);
        };
        let Some(host) = url.host_str() else {
            return false;
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if LOOPBACK.contains(&host) && matches!(url.scheme(), "http" | "https") {
            return true;
        }
        let port = url.port_or_known_default();
        self.allowed_origins.iter().any(|allowed| {
            if let Some(any_port) = allowed.strip_suffix(":*") {
                url::Url::parse(any_port)
                    .is_ok_and(|a| a.scheme() == url.scheme() && a.host_str() == url.host_str())
            } else {
                url::Url::parse(allowed).is_ok_and(|a| {
                    a.scheme() == url.scheme()
                        && a.host_str() == url.host_str()
                        && a.port_or_known_default() == port
                })
            }
        })
    }

    /// Why a request is refused, if it is.
    fn check(&self, path: &str, headers: &HeaderMap) -> Result<(), Refusal> {
        // Two Host headers let a proxy and this server disagree on which is
        // meant; HTTP/1.1 calls such a request bad.
        if headers.get_all(header::HOST).iter().count() > 1 {
            return Err(Refusal::BadRequest(
                "more than one Host header; send exactly one".into(),
            ));
        }
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        if !self.host_allowed(host) {
            return Err(Refusal::Forbidden(format!(
                "Host {host:?} is not allowed; start the server with --allowed-host for the name clients use"
            )));
        }
        if let Some(origin) = headers.get(header::ORIGIN) {
            let origin = origin.to_str().unwrap_or("");
            if !self.origin_allowed(origin) {
                return Err(Refusal::Forbidden(format!(
                    "Origin {origin:?} is not allowed; start the server with --allowed-origin to allow it"
                )));
            }
        }
        if path != "/health" && !self.authorized(headers) {
            return Err(Refusal::Unauthorized);
        }
        Ok(())
    }

    /// Whether the request carries the bearer token (always, when none is set).
    pub(crate) fn authorized(&self, headers: &HeaderMap) -> bool {
        let Some(token) = &self.bearer_token else {
            return true;
        };
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
            .unwrap_or(b"");
        token.matches(presented)
    }
}

/// Why a request was turned away.
#[derive(Debug)]
enum Refusal {
    BadRequest(String),
    Forbidden(String),
    Unauthorized,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::BadRequest(message) => refuse(StatusCode::BAD_REQUEST, &message),
            Refusal::Forbidden(message) => refuse(StatusCode::FORBIDDEN, &message),
            Refusal::Unauthorized => {
                let mut response = refuse(
                    StatusCode::UNAUTHORIZED,
                    "a valid `Authorization: Bearer <token>` header is required",
                );
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                response
            }
        }
    }
}

/// `name` of `name:port`, `[::1]:port` or `[::1]`.
fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("");
    }
    host.rsplit_once(':').map_or(host, |(name, _)| name)
}

/// A refusal with a JSON body that says why.
pub(crate) fn refuse(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({ "error": message }).to_string();
    let mut response = (status, Body::from(body)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The middleware: refuses before any route sees the request.
pub(crate) async fn guard(
    State(policy): State<Arc<AccessPolicy>>,
    request: Request,
    next: Next,
) -> Response {
    if let Err(refusal) = policy.check(request.uri().path(), request.headers()) {
        tracing::info!(path = request.uri().path(), ?refusal, "request refused");
        return refusal.into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn loopback_hosts_and_origins_pass_by_default() {
        let policy = AccessPolicy::default();
        for host in [
            "localhost:8000",
            "127.0.0.1:8000",
            "[::1]:8000",
            "localhost",
            "LOCALHOST:1",
        ] {
            assert!(
                policy.check("/mcp", &headers(&[("host", host)])).is_ok(),
                "{host}"
            );
        }
        assert!(
            policy
                .check(
                    "/mcp",
                    &headers(&[("host", "127.0.0.1:1"), ("origin", "http://localhost:6274")])
                )
                .is_ok()
        );
    }

    #[test]
    fn rebinding_hosts_and_foreign_origins_are_refused() {
        let policy = AccessPolicy::default();
        for host in [
            "evil.example.com",
            "evil.example.com:8000",
            "127.0.0.1.evil.com",
            "",
        ] {
            let refused = policy
                .check("/sse", &headers(&[("host", host)]))
                .unwrap_err();
            assert_eq!(
                refused.into_response().status(),
                StatusCode::FORBIDDEN,
                "{host}"
            );
        }
        let mut twice = headers(&[("host", "localhost")]);
        twice.append(header::HOST, HeaderValue::from_static("evil.example.com"));
        let refused = policy.check("/mcp", &twice).unwrap_err();
        assert_eq!(refused.into_response().status(), StatusCode::BAD_REQUEST);
        let refused = policy
            .check(
                "/mcp",
                &headers(&[("host", "localhost"), ("origin", "http://evil.example.com")]),
            )
            .unwrap_err();
        assert_eq!(refused.into_response().status(), StatusCode::FORBIDDEN);
        assert!(
            policy
                .check(
                    "/mcp",
                    &headers(&[("host", "localhost"), ("origin", "null")])
                )
                .is_err()
        );
    }

    #[test]
    fn configured_hosts_and_origins_pass() {
        let policy = AccessPolicy {
            allowed_hosts: vec!["mcp.example.com".into()],
            allowed_origins: vec![
                "https://app.example.com".into(),
                "http://tools.example.com:*".into(),
            ],
            bearer_token: None,
        };
        assert!(
            policy
                .check("/mcp", &headers(&[("host", "mcp.example.com:443")]))
                .is_ok()
        );
        let ok = |origin| {
            policy
                .check(
                    "/mcp",
                    &headers(&[("host", "mcp.example.com"), ("origin", origin)]),
                )
                .is_ok()
        };
        assert!(ok("https://app.example.com"));
        assert!(ok("https://app.example.com:443"));
        assert!(!ok("https://app.example.com:8443"));
        assert!(!ok("http://app.example.com"));
        assert!(ok("http://tools.example.com:9999"));
    }

    #[test]
    fn the_bearer_token_is_required_except_for_health() {
        let policy = AccessPolicy {
            bearer_token: Some(BearerToken::new("s3cret".into())),
            ..AccessPolicy::default()
        };
        let host = ("host", "127.0.0.1:8000");
        let refused = policy
            .check("/mcp", &headers(&[host]))
            .unwrap_err()
            .into_response();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        assert!(refused.headers().contains_key(header::WWW_AUTHENTICATE));
        for wrong in [
            "Bearer s3cre",
            "Bearer s3cret2",
            "Bearer S3CRET",
            "s3cret",
            "Basic s3cret",
        ] {
            assert!(
                policy
                    .check("/mcp", &headers(&[host, ("authorization", wrong)]))
                    .is_err(),
                "{wrong}"
            );
        }
        assert!(
            policy
                .check(
                    "/mcp",
                    &headers(&[host, ("authorization", "Bearer s3cret")])
                )
                .is_ok()
        );
        assert!(policy.check("/health", &headers(&[host])).is_ok());
        assert!(!format!("{:?}", policy).contains("s3cret"));
    }
}

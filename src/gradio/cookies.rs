//! The cookies of one Space, kept as Gradio's own clients keep them.
//!
//! An app behind several replicas routes by a session-affinity cookie set
//! on its first answer: without it, a call's `POST` can reach one replica
//! and the `GET` of its result stream another, which does not know the
//! event id (the same for queue joins, uploads and downloads). A login is a
//! cookie too. So each Space's client has a jar of its own, and every
//! request to the Space (metadata, uploads, joins, streams, cancels,
//! downloads) goes out with it.
//!
//! The jar is the Space's alone: cookies are taken only from answers of its
//! origin and sent only to its origin (scheme, host and port: not to the
//! Hub, not to another app on the same host), and never logged.

use reqwest::cookie::{CookieStore, Jar};
use reqwest::header::HeaderValue;
use url::{Origin, Url};

pub(crate) struct SpaceCookies {
    origin: Origin,
    jar: Jar,
}

impl SpaceCookies {
    pub(crate) fn new(origin: Origin) -> SpaceCookies {
        SpaceCookies {
            origin,
            jar: Jar::default(),
        }
    }

    fn ours(&self, url: &Url) -> bool {
        url.origin() == self.origin
    }
}

impl CookieStore for SpaceCookies {
    fn set_cookies(&self, headers: &mut dyn Iterator<Item = &HeaderValue>, url: &Url) {
        if self.ours(url) {
            self.jar.set_cookies(headers, url);
        }
    }

    fn cookies(&self, url: &Url) -> Option<HeaderValue> {
        if self.ours(url) {
            self.jar.cookies(url)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn a_spaces_cookies_go_back_to_its_origin_only() {
        let space = url("http://127.0.0.1:7860/");
        let jar = SpaceCookies::new(space.origin());
        let set = HeaderValue::from_static("SRV=a; Path=/");
        jar.set_cookies(
            &mut std::iter::once(&set),
            &url("http://127.0.0.1:7860/config"),
        );
        let sent = jar.cookies(&url("http://127.0.0.1:7860/gradio_api/call/infer"));
        assert_eq!(sent.as_ref().and_then(|v| v.to_str().ok()), Some("SRV=a"));
        // The same host on another port, another scheme, another host: none.
        for other in [
            "http://127.0.0.1:7861/config",
            "https://127.0.0.1:7860/config",
            "http://localhost:7860/config",
            "https://huggingface.co/api/spaces/a/b",
        ] {
            assert!(jar.cookies(&url(other)).is_none(), "{other}");
        }
        // A cookie another origin sets is not taken.
        let foreign = HeaderValue::from_static("evil=1; Path=/");
        jar.set_cookies(
            &mut std::iter::once(&foreign),
            &url("http://127.0.0.1:7861/"),
        );
        let sent = jar.cookies(&url("http://127.0.0.1:7860/"));
        assert_eq!(sent.as_ref().and_then(|v| v.to_str().ok()), Some("SRV=a"));
    }
}

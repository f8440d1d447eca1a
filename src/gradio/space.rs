//! Where a Space lives: a Hub id resolves to its `*.hf.space` host, a URL is
//! taken as given.

use std::fmt;

use url::Url;

/// A Gradio app: a Hugging Face Space (`owner/name`) or any Gradio server's base URL.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct SpaceRef {
    /// What the user wrote, for messages: `ysharma/SanaSprint` or `http://127.0.0.1:7860`.
    label: String,
    /// The app's root, always ending in `/` so that relative joins stay under it.
    base: Url,
    hub: bool,
    /// `owner/name` when the Space was given by its Hub id: the Hub can then
    /// tell whether it sleeps, builds, is paused or broken.
    hub_id: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct SpaceRefError(String);

impl SpaceRef {
    pub(crate) fn parse(text: &str) -> Result<SpaceRef, SpaceRefError> {
        let text = text.trim();
        if text.starts_with("http://") || text.starts_with("https://") {
            return Self::from_url(text);
        }
        Self::from_hub_id(text)
    }

    fn from_url(text: &str) -> Result<SpaceRef, SpaceRefError> {
        let mut base = Url::parse(text).map_err(|e| {
            SpaceRefError(format!("expected a Space id \"owner/name\" or an http(s) URL; {text:?} is not a valid URL ({e})"))
        })?;
        if base.host_str().is_none_or(str::is_empty) {
            return Err(SpaceRefError(format!("the URL {text:?} has no host")));
        }
        if !base.username().is_empty() || base.password().is_some() {
            return Err(SpaceRefError(
                "put no credentials in the Space URL; set HF_TOKEN for Spaces that need a token"
                    .into(),
            ));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(SpaceRefError(format!(
                "the URL {text:?} must have no query or fragment"
            )));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let hub = base.host_str().is_some_and(|h| h.ends_with(".hf.space"));
        if hub && base.scheme() == "http" {
            // Spaces are served over HTTPS only; plain HTTP would carry the token in clear.
            let _ = base.set_scheme("https");
        }
        Ok(SpaceRef {
            label: text.trim_end_matches('/').to_string(),
            base,
            hub,
            hub_id: None,
        })
    }

    fn from_hub_id(text: &str) -> Result<SpaceRef, SpaceRefError> {
        let bad = || {
            SpaceRefError(format!(
                "expected a Space id \"owner/name\" (as in huggingface.co/spaces/owner/name) or an http(s) URL, found {text:?}"
            ))
        };
        let (owner, name) = text.split_once('/').ok_or_else(bad)?;
        let part_ok = |p: &str| {
            p.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
                && p.len() <= 96
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        };
        if !part_ok(owner) || !part_ok(name) {
            return Err(bad());
        }
        // The Hub's rule for a Space's subdomain: lower case, '.' and '_' as '-'.
        let subdomain: String = format!("{owner}-{name}")
            .chars()
            .map(|c| match c {
                '.' | '_' => '-',
                c => c.to_ascii_lowercase(),
            })
            .collect();
        let base = Url::parse(&format!("https://{subdomain}.hf.space/")).map_err(|_| bad())?;
        Ok(SpaceRef {
            label: text.to_string(),
            base,
            hub: true,
            hub_id: Some(text.to_string()),
        })
    }

    /// The app's root URL, ending in `/`.
    pub(crate) fn base(&self) -> &Url {
        &self.base
    }

    /// Whether this is a Hugging Face Space (which may need the HF token).
    pub(crate) fn is_hub(&self) -> bool {
        self.hub
    }

    /// Names the Hub Space this URL serves (a Space on a custom domain, or
    /// behind a proxy), so that the Hub can be asked about its state.
    pub(crate) fn with_hub_id(mut self, id: &str) -> Result<SpaceRef, SpaceRefError> {
        let hub = SpaceRef::from_hub_id(id.trim())?;
        self.hub_id = hub.hub_id;
        Ok(self)
    }

    /// Whether an HF token may travel to this Space: only over HTTPS, or to
    /// this machine.
    pub(crate) fn may_carry_token(&self) -> bool {
        may_carry_token(&self.base)
    }

    /// The Space's page for people: its Hub page when the Hub id is known,
    /// else the app itself.
    pub(crate) fn page(&self) -> String {
        match &self.hub_id {
            Some(id) => format!("https://huggingface.co/spaces/{id}"),
            None => self.base.to_string(),
        }
    }

    /// The Hub id, when the Space was named by it.
    pub(crate) fn hub_id(&self) -> Option<&str> {
        self.hub_id.as_deref()
    }
}

/// A token goes only over HTTPS, or over plain HTTP to this machine.
pub(crate) fn may_carry_token(url: &Url) -> bool {
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    url.scheme() == "https" || (url.scheme() == "http" && loopback)
}

impl fmt::Display for SpaceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_ids_resolve_to_their_hf_space_host() {
        let s = SpaceRef::parse("ysharma/SanaSprint").unwrap();
        assert_eq!(s.base().as_str(), "https://ysharma-sanasprint.hf.space/");
        assert!(s.is_hub());
        assert_eq!(s.to_string(), "ysharma/SanaSprint");
        let s = SpaceRef::parse("ysharma/Dia-1.6B").unwrap();
        assert_eq!(s.base().as_str(), "https://ysharma-dia-1-6b.hf.space/");
        let s = SpaceRef::parse("Some_User/my_app").unwrap();
        assert_eq!(s.base().as_str(), "https://some-user-my-app.hf.space/");
    }

    #[test]
    fn urls_are_taken_as_given() {
        let s = SpaceRef::parse("http://127.0.0.1:7860").unwrap();
        assert_eq!(s.base().as_str(), "http://127.0.0.1:7860/");
        assert!(!s.is_hub());
        let s = SpaceRef::parse("https://example.com/apps/demo").unwrap();
        assert_eq!(s.base().as_str(), "https://example.com/apps/demo/");
        assert!(
            SpaceRef::parse("https://abc-def.hf.space")
                .unwrap()
                .is_hub()
        );
    }

    #[test]
    fn tokens_travel_only_over_https_or_to_this_machine() {
        for (url, ok) in [
            ("https://example.com", true),
            ("http://example.com", false),
            ("http://127.0.0.1:7860", true),
            ("http://127.9.9.9:7860", true),
            ("http://[::1]:7860", true),
            ("http://localhost:7860", true),
            ("http://10.0.0.1", false),
        ] {
            assert_eq!(SpaceRef::parse(url).unwrap().may_carry_token(), ok, "{url}");
        }
        // A Space's own host over plain HTTP is upgraded: Spaces serve HTTPS only.
        let s = SpaceRef::parse("http://abc-def.hf.space").unwrap();
        assert_eq!(s.base().as_str(), "https://abc-def.hf.space/");
        assert!(s.may_carry_token());
    }

    #[test]
    fn pages_are_hub_pages_only_for_hub_ids() {
        assert_eq!(
            SpaceRef::parse("a/b").unwrap().page(),
            "https://huggingface.co/spaces/a/b"
        );
        assert_eq!(
            SpaceRef::parse("http://abc-def.hf.space").unwrap().page(),
            "https://abc-def.hf.space/"
        );
    }

    #[test]
    fn hostile_or_malformed_spaces_are_refused() {
        for bad in [
            "",
            "noslash",
            "a/b/c",
            "../etc",
            "a/..?x",
            "owner/na me",
            "ftp://example.com",
            "http://",
            "http://user:pw@example.com",
            "http://example.com/?q=1",
            "owner/name#frag",
        ] {
            assert!(SpaceRef::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}

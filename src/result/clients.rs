//! Which content each MCP client takes, by the name it gives.
//!
//! Clients differ in what they do with a tool result (measured in
//! November 2026, README "What each client gets"): hosts such as Claude
//! Desktop show images to the model; some libraries fail on an audio block
//! (langchain-mcp-adapters) or read only the first block (smolagents); a
//! script that passes `result.content` to the Anthropic Messages API gets
//! HTTP 400 for MCP's image shape; one that prints the result puts every
//! base64 byte into its prompt. The name in `clientInfo` (or a 2026-07-28
//! request's `_meta`) picks a profile from the table below, which users
//! override per client (`[clients."<name>"]`), for everyone (`content`,
//! `SPACES_MCP_CONTENT`, `--content`), or per HTTP request (`?content=`).

use crate::config::{ContentProfile, Settings};

/// The built-in table: a client name (compared without case) and what it
/// takes. A name that is not here gets [`UNKNOWN`].
const BUILT_IN: &[(&str, ContentProfile)] = &[
    // Hosts: images reach the model; their models take no audio, and an
    // audio block only costs result room (Claude Desktop refuses results
    // over 1 MiB).
    ("claude-ai", ContentProfile::Images),
    ("claude-code", ContentProfile::Images),
    ("cursor-vscode", ContentProfile::Images),
    ("Visual Studio Code", ContentProfile::Images),
    ("windsurf-client", ContentProfile::Images),
    // Show every block as it is.
    ("inspector-cli", ContentProfile::Rich),
    ("inspector-client", ContentProfile::Rich),
    ("mcp-inspector", ContentProfile::Rich),
    ("mcp-use", ContentProfile::Rich),
    // Gives the model a placeholder for media and drops resource links:
    // the text must carry the URL and the saved path.
    ("huggingface_hub.MCPClient", ContentProfile::Text),
    // The Python SDK's default name, shared by hand-written scripts,
    // langchain-mcp-adapters, smolagents, openai-agents, fastmcp and
    // pydantic-ai: text is the one shape none of them fails on or turns
    // into base64 prompt text.
    ("mcp", ContentProfile::Text),
];

/// What a client that is not in the table gets: every block, as the spec's
/// own clients take it.
const UNKNOWN: ContentProfile = ContentProfile::Rich;

/// A proxy that bridges a client to us names itself after the client's
/// name (mcp-remote: "claude-ai (via mcp-remote 0.1.37)"): the client's
/// own name is what tells what it takes.
fn proxied_name(name: &str) -> &str {
    match name.find(" (via ") {
        Some(at) if name.ends_with(')') => &name[..at],
        _ => name,
    }
}

/// The built-in profile for a client name, if the table has one.
pub(crate) fn built_in(name: &str) -> Option<ContentProfile> {
    let name = proxied_name(name.trim());
    BUILT_IN
        .iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(name))
        .map(|&(_, profile)| profile)
}

/// The content one request's result holds: what the request asked for
/// (`?content=` on the HTTP URL), else the client's own table in the
/// config, else the config's `content` for everyone, else the built-in
/// table, else [`UNKNOWN`].
pub(crate) fn content_for(
    client: Option<&str>,
    asked: Option<ContentProfile>,
    settings: &Settings,
) -> ContentProfile {
    if let Some(profile) = asked {
        return profile;
    }
    let name = client.map(|n| proxied_name(n.trim()));
    let configured = name.and_then(|name| {
        settings
            .clients
            .iter()
            .find(|(known, _)| known.trim().eq_ignore_ascii_case(name))
            .map(|(_, &profile)| profile)
    });
    configured
        .or(settings.content)
        .or_else(|| name.and_then(built_in))
        .unwrap_or(UNKNOWN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn config(text: &str) -> Settings {
        let tools = "[tools.t]\nspace = \"a/b\"\napi = \"/x\"\n";
        Config::parse(&format!("{text}\n{tools}"), "test")
            .unwrap()
            .settings
    }

    #[test]
    fn hosts_get_images_and_the_bare_sdk_name_gets_text() {
        let c = config("");
        for (name, want) in [
            ("claude-ai", ContentProfile::Images),
            ("Claude-AI", ContentProfile::Images),
            ("claude-ai (via mcp-remote 0.15.1)", ContentProfile::Images),
            ("cursor-vscode", ContentProfile::Images),
            ("Visual Studio Code", ContentProfile::Images),
            ("mcp", ContentProfile::Text),
            ("mcp (via mcp-remote 0.15.1)", ContentProfile::Text),
            ("huggingface_hub.MCPClient", ContentProfile::Text),
            ("mcp-use", ContentProfile::Rich),
            ("my-own-client", ContentProfile::Rich),
        ] {
            assert_eq!(content_for(Some(name), None, &c), want, "{name}");
        }
        assert_eq!(content_for(None, None, &c), ContentProfile::Rich);
    }

    #[test]
    fn a_request_then_a_client_table_then_the_global_setting_decide() {
        let c = config("[settings]\ncontent = \"images\"\n[clients.\"mcp\"]\ncontent = \"rich\"\n");
        assert_eq!(content_for(Some("mcp"), None, &c), ContentProfile::Rich);
        assert_eq!(
            content_for(Some("huggingface_hub.MCPClient"), None, &c),
            ContentProfile::Images
        );
        assert_eq!(
            content_for(Some("mcp"), Some(ContentProfile::Text), &c),
            ContentProfile::Text
        );
        let auto = config("[settings]\ncontent = \"auto\"\n");
        assert_eq!(content_for(Some("mcp"), None, &auto), ContentProfile::Text);
    }

    #[test]
    fn a_wrong_profile_name_is_refused_naming_the_key() {
        let tools = "[tools.t]\nspace = \"a/b\"\napi = \"/x\"\n";
        let err = Config::parse(&format!("[clients.\"x\"]\ncontent = \"all\"\n{tools}"), "f")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("clients.\"x\".content") && err.contains("\"rich\""),
            "{err}"
        );
        let err = Config::parse(&format!("[settings]\ncontent = \"big\"\n{tools}"), "f")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("settings.content") && err.contains("auto"),
            "{err}"
        );
    }
}

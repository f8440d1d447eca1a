//! `spaces-mcp config <client>`: the entry each MCP client needs to spawn
//! this binary, in that client's own format; with `--install`, merged into
//! Claude Desktop's config file for this OS.
//!
//! Installing never loses what is there: every other server and key is kept
//! (and an env the `spaces` entry already had, such as an HF token), the old
//! file is copied aside first, the new one is written whole then renamed
//! into place, and a file that is not the JSON object Claude Desktop reads is
//! left alone with an error.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::{Map, Value, json};

use super::{CliError, print_json};

/// The clients `config` knows.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum ClientKind {
    /// Claude Desktop: claude_desktop_config.json (--install merges it in).
    Claude,
    /// Claude Code: the `claude mcp add` command line.
    ClaudeCode,
    /// Cursor: ~/.cursor/mcp.json (or .cursor/mcp.json in a project).
    Cursor,
    /// VS Code: .vscode/mcp.json, the HF token asked for once and kept by VS Code.
    Vscode,
    /// Windsurf: ~/.codeium/windsurf/mcp_config.json.
    Windsurf,
}

/// The name the server gets in clients' configs.
const SERVER_NAME: &str = "spaces";

/// How to start this binary: its absolute path and arguments.
struct Launch {
    command: String,
    args: Vec<String>,
}

impl Launch {
    fn current(config: Option<&Path>) -> Result<Launch, CliError> {
        let exe = std::env::current_exe()
            .and_then(|p| p.canonicalize().or(Ok(p)))
            .map_err(|e| CliError::Failed(format!("cannot find this program's own path: {e}")))?;
        let mut args = vec!["serve".to_string()];
        if let Some(config) = config {
            let absolute = std::path::absolute(config).unwrap_or_else(|_| config.to_path_buf());
            args.push("--config".into());
            args.push(absolute.display().to_string());
        }
        Ok(Launch {
            command: exe.display().to_string(),
            args,
        })
    }

    /// The `mcpServers` entry Claude Desktop, Cursor and Windsurf share.
    fn entry(&self) -> Value {
        json!({ "command": self.command, "args": self.args })
    }
}

pub(super) fn run(
    client: ClientKind,
    config: Option<&Path>,
    install: bool,
) -> Result<ExitCode, CliError> {
    let launch = Launch::current(config)?;
    if install {
        return match client {
            ClientKind::Claude => install_claude(&launch, &claude_config_path()?),
            _ => Err(CliError::Usage(
                "--install is for Claude Desktop (config claude --install); for the others, \
                 paste the printed entry, or run the printed command"
                    .into(),
            )),
        };
    }
    let token_hint = "for private Spaces or your own ZeroGPU quota, give the server HF_TOKEN";
    match client {
        ClientKind::Claude | ClientKind::Cursor | ClientKind::Windsurf => {
            let file = match client {
                ClientKind::Claude => {
                    format!(
                        "{} (or run: spaces-mcp config claude --install)",
                        claude_config_path()?.display()
                    )
                }
                ClientKind::Cursor => {
                    "~/.cursor/mcp.json (or .cursor/mcp.json in a project)".into()
                }
                _ => "~/.codeium/windsurf/mcp_config.json".into(),
            };
            eprintln!(
                "Add this to {file}. And {token_hint}: add \"env\": {{\"HF_TOKEN\": \"hf_...\"}} to the entry."
            );
            print_json(&json!({ "mcpServers": { SERVER_NAME: launch.entry() } }))
        }
        ClientKind::Vscode => {
            eprintln!(
                "Save this as .vscode/mcp.json in your workspace (or add it to your user mcp.json). \
                 VS Code asks for the HF token once (leave it empty for public Spaces) and keeps it."
            );
            print_json(&json!({
                "inputs": [{
                    "type": "promptString",
                    "id": "hf-token",
                    "description": "Hugging Face token (optional: private Spaces, your own ZeroGPU quota)",
                    "password": true
                }],
                "servers": {
                    SERVER_NAME: {
                        "type": "stdio",
                        "command": launch.command,
                        "args": launch.args,
                        "env": { "HF_TOKEN": "${input:hf-token}" }
                    }
                }
            }))
        }
        ClientKind::ClaudeCode => {
            eprintln!("Run this ({token_hint}: add --env HF_TOKEN=hf_... before the --):");
            let mut words = vec!["claude", "mcp", "add", SERVER_NAME, "--"];
            words.push(&launch.command);
            words.extend(launch.args.iter().map(String::as_str));
            let line: Vec<String> = words.iter().map(|w| shell_quote(w)).collect();
            println!("{}", line.join(" "));
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A word as a POSIX shell reads it back unchanged.
fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Where Claude Desktop keeps its config on this OS.
fn claude_config_path() -> Result<PathBuf, CliError> {
    let missing = |var: &str| {
        CliError::Failed(format!(
            "cannot find Claude Desktop's config folder: {var} is not set"
        ))
    };
    #[cfg(target_os = "windows")]
    let dir = PathBuf::from(std::env::var_os("APPDATA").ok_or_else(|| missing("APPDATA"))?);
    #[cfg(target_os = "macos")]
    let dir = PathBuf::from(std::env::var_os("HOME").ok_or_else(|| missing("HOME"))?)
        .join("Library")
        .join("Application Support");
    #[cfg(not(any(target_os = "windows", target_os = "macos")))]
    let dir = match std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => {
            PathBuf::from(std::env::var_os("HOME").ok_or_else(|| missing("HOME"))?).join(".config")
        }
    };
    Ok(dir.join("Claude").join("claude_desktop_config.json"))
}

/// Merges the entry into Claude Desktop's config file.
fn install_claude(launch: &Launch, path: &Path) -> Result<ExitCode, CliError> {
    let failed =
        |what: &str, e: std::io::Error| CliError::Failed(format!("{what} {}: {e}", path.display()));
    let existing = match std::fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(failed("cannot read", e)),
    };
    let mut root = match &existing {
        None => Map::new(),
        Some(text) if text.trim().is_empty() => Map::new(),
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(root)) => root,
            Ok(_) => return Err(malformed(path, "it is JSON, but not an object")),
            Err(e) => return Err(malformed(path, &format!("it is not valid JSON ({e})"))),
        },
    };
    let servers = root
        .entry("mcpServers")
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(servers) = servers else {
        return Err(malformed(path, "its \"mcpServers\" is not an object"));
    };
    let mut entry = launch.entry();
    // An env the user gave the entry (an HF token) stays.
    if let Some(env) = servers
        .get(SERVER_NAME)
        .and_then(|old| old.get("env"))
        .cloned()
        && let Some(object) = entry.as_object_mut()
    {
        object.insert("env".into(), env);
    }
    let replaced = servers.insert(SERVER_NAME.to_string(), entry).is_some();
    let mut text = serde_json::to_string_pretty(&Value::Object(root))
        .map_err(|e| CliError::Failed(e.to_string()))?;
    text.push('\n');

    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| failed("cannot create the folder of", e))?;
    }
    let backup = match &existing {
        Some(_) => {
            let backup = path.with_extension("json.bak");
            std::fs::copy(path, &backup).map_err(|e| failed("cannot back up", e))?;
            Some(backup)
        }
        None => None,
    };
    let partial = path.with_extension("json.partial");
    write_private(&partial, text.as_bytes()).map_err(|e| failed("cannot write next to", e))?;
    if let Ok(meta) = std::fs::metadata(path) {
        // The file keeps the permissions it had.
        let _ = std::fs::set_permissions(&partial, meta.permissions());
    }
    std::fs::rename(&partial, path).map_err(|e| failed("cannot replace", e))?;

    eprintln!(
        "{} the \"{SERVER_NAME}\" server in {}{}. Restart Claude Desktop to load it.",
        if replaced { "Updated" } else { "Added" },
        path.display(),
        backup
            .map(|b| format!(" (the previous file is kept as {})", b.display()))
            .unwrap_or_default()
    );
    Ok(ExitCode::SUCCESS)
}

fn malformed(path: &Path, why: &str) -> CliError {
    CliError::Failed(format!(
        "{} was left as it is: {why}. Fix it (Claude Desktop cannot read it either), or move it \
         away, then run this again",
        path.display()
    ))
}

/// Writes a file only its owner can read (it may hold tokens).
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn launch() -> Launch {
        Launch {
            command: "/opt/spaces mcp/spaces-mcp".into(),
            args: vec!["serve".into()],
        }
    }

    #[test]
    fn words_are_quoted_for_the_shell_only_when_needed() {
        assert_eq!(shell_quote("serve"), "serve");
        assert_eq!(shell_quote("/usr/bin/spaces-mcp"), "/usr/bin/spaces-mcp");
        assert_eq!(shell_quote("/opt/my tools/x"), "'/opt/my tools/x'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn install_merges_keeps_the_rest_and_backs_up() {
        let dir = std::env::temp_dir().join(format!("spaces-mcp-install-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("Claude").join("claude_desktop_config.json");

        // No file yet: one is made.
        install_claude(&launch(), &path).unwrap();
        let made: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(
            made["mcpServers"]["spaces"]["command"],
            "/opt/spaces mcp/spaces-mcp"
        );
        assert!(!path.with_extension("json.bak").exists());

        // Another server, other keys, and the user's env on our entry.
        let before = json!({
            "theme": "dark",
            "mcpServers": {
                "other": {"command": "other-server"},
                "spaces": {"command": "/old/path", "args": [], "env": {"HF_TOKEN": "hf_x"}}
            }
        });
        std::fs::write(&path, before.to_string()).unwrap();
        install_claude(&launch(), &path).unwrap();
        let after: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(after["theme"], "dark");
        assert_eq!(after["mcpServers"]["other"]["command"], "other-server");
        assert_eq!(after["mcpServers"]["spaces"]["args"], json!(["serve"]));
        assert_eq!(after["mcpServers"]["spaces"]["env"]["HF_TOKEN"], "hf_x");
        let backup: Value = serde_json::from_str(
            &std::fs::read_to_string(path.with_extension("json.bak")).unwrap(),
        )
        .unwrap();
        assert_eq!(backup, before);

        // A file Claude Desktop could not read either is left alone.
        for bad in ["{not json", "[1, 2]", "{\"mcpServers\": 3}"] {
            std::fs::write(&path, bad).unwrap();
            let e = install_claude(&launch(), &path).unwrap_err();
            assert!(e.to_string().contains("left as it is"), "{e}");
            assert_eq!(std::fs::read_to_string(&path).unwrap(), bad);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

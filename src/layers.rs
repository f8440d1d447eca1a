//! The layers, checked: each top-level module may import only the modules
//! below it in [`LAYERS`], so imports point one way and `gradio` (the
//! Gradio protocol) knows nothing of MCP, the config or the server. Read
//! from the source files themselves, so a `use` that reaches up fails
//! `cargo test` with the file and the line.

use std::path::{Path, PathBuf};

/// The modules, top first: each may use any module after it.
const LAYERS: &[&str] = &[
    "cli",
    "server",
    "discovery",
    "call",
    "result",
    "tools",
    "config",
    "validate",
    "naming",
    "dirs",
    "metrics",
    "hub",
    "fleet",
    "jobs",
    "gradio",
    "locks",
    "alloc",
];

/// Test data, usable from every layer's tests.
const EVERYWHERE: &[&str] = &["fixtures"];

fn files(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    let mut found = Vec::new();
    for entry in std::fs::read_dir(path).into_iter().flatten().flatten() {
        found.extend(files(&entry.path()));
    }
    found
}

/// The `crate::<module>` names a line refers to.
fn references(line: &str) -> Vec<&str> {
    line.match_indices("crate::")
        .filter(|(at, _)| {
            !line[..*at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '$')
        })
        .map(|(at, m)| {
            let rest = &line[at + m.len()..];
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .collect()
}

#[test]
fn imports_only_point_down() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut wrong = Vec::new();
    for (level, module) in LAYERS.iter().enumerate() {
        let below = &LAYERS[level + 1..];
        let dir = src.join(module);
        let root = if dir.is_dir() {
            dir
        } else {
            src.join(format!("{module}.rs"))
        };
        let found = files(&root);
        assert!(!found.is_empty(), "no source for the layer {module}");
        for file in found {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            for (n, line) in text.lines().enumerate() {
                if line.trim_start().starts_with("//") {
                    continue;
                }
                for name in references(line) {
                    let fine = name == *module
                        || below.contains(&name)
                        || EVERYWHERE.contains(&name)
                        || !LAYERS.contains(&name);
                    if !fine {
                        wrong.push(format!(
                            "{}:{}: {module} uses {name}, a layer above it",
                            file.display(),
                            n + 1
                        ));
                    }
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports that point up:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_check_sees_a_reference() {
    assert_eq!(references("use crate::gradio::SpaceRef;"), ["gradio"]);
    assert_eq!(
        references("x = crate::result::text::clean(y) + crate::naming::slug(z)"),
        ["result", "naming"]
    );
    assert!(references("my_crate::thing").is_empty());
}

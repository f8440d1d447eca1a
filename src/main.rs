//! The `spaces-mcp` command: parses the command line and hands it to the
//! library's `cli` layer, where everything it does lives.

use clap::Parser;

fn main() -> std::process::ExitCode {
    spaces_mcp::cli::run(spaces_mcp::cli::Cli::parse())
}

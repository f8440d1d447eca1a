//! What `spaces-mcp call` shows while a call runs. On a terminal: one live
//! line (a spinner, the time so far, a bar of the call's way from queue to
//! result, and the latest word: the place in the queue, the ETA when Gradio
//! gives one, the step as "step n of m"). Off a terminal, or with `--quiet`: a plain line per update,
//! as a log or a pipe wants.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::call::progress::ProgressSink;

/// The progress of one call, shown one way or the other.
pub(super) struct ProgressLine {
    bar: Option<ProgressBar>,
}

impl ProgressLine {
    /// A live line when stderr is a terminal and `plain` is not asked for.
    pub(super) fn new(plain: bool) -> ProgressLine {
        if plain || !std::io::stderr().is_terminal() {
            return ProgressLine { bar: None };
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(spinner_style());
        bar.enable_steady_tick(Duration::from_millis(120));
        ProgressLine { bar: Some(bar) }
    }

    /// Where the call's progress reports go.
    pub(super) fn sink(&self) -> ProgressSink {
        match self.bar.clone() {
            None => Arc::new(|_, _, message: String| eprintln!("… {message}")),
            Some(bar) => Arc::new(move |value: f64, total: Option<f64>, message: String| {
                match total.filter(|t| *t > 0.0) {
                    Some(total) => {
                        if bar.length() != Some(total as u64) {
                            bar.set_style(bar_style());
                            bar.set_length(total as u64);
                        }
                        bar.set_position(value.max(0.0) as u64);
                    }
                    None if bar.length().is_some() => {
                        bar.set_style(spinner_style());
                        bar.unset_length();
                    }
                    None => {}
                }
                bar.set_message(message);
            }),
        }
    }

    /// The call ended: the live line goes, so the result stands alone.
    pub(super) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {elapsed:>4} {wide_msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {elapsed:>4} [{bar:24}] {wide_msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

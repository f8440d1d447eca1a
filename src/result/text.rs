//! A Space's own words made fit to pass on to a model or a terminal: HTML
//! reduced to text, control characters (terminal escapes) and bidirectional
//! overrides removed, and the length bounded.

/// The most of a Space's own words (an error, a log line) passed on.
pub(crate) const SPACE_TEXT_MAX: usize = 2048;

/// Text fit to reach a model or a terminal: no control characters (terminal
/// escapes included), no bidirectional overrides that reorder what a person
/// sees, and at most `max` bytes, saying so when cut.
pub(crate) fn clean_text(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max + 16));
    let mut cut = false;
    for c in text.chars() {
        let c = match c {
            '\t' | '\n' | '\r' => ' ',
            c if c.is_control() || is_bidi_control(c) => continue,
            c => c,
        };
        if out.len() + c.len_utf8() > max {
            cut = true;
            break;
        }
        out.push(c);
    }
    if cut {
        out.push_str(" … [cut]");
    }
    out
}

/// Text that keeps its lines (a result's own text: tables, lists) but has
/// no other control character and no bidirectional override.
pub(crate) fn clean_lines(text: &str) -> String {
    text.chars()
        .filter(|&c| matches!(c, '\n' | '\t') || !(c.is_control() || is_bidi_control(c)))
        .collect()
}

/// The Unicode bidirectional formatting characters (embeddings, overrides,
/// isolates and marks).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Text without its tags and with the common entities decoded: ZeroGPU and
/// many apps put HTML (links, emphasis) into messages meant for a browser.
pub(crate) fn strip_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    let out = out
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spaces_words_are_bounded_and_lose_escapes_and_bidi_controls() {
        let hostile = "ok\u{1b}[31mred\u{7}\u{202E}txt.exe\u{2066}x\nnext";
        assert_eq!(clean_text(hostile, 100), "ok[31mredtxt.exex next");
        let long = "é".repeat(5000);
        let cut = clean_text(&long, SPACE_TEXT_MAX);
        assert!(
            cut.len() <= SPACE_TEXT_MAX + 16 && cut.ends_with("[cut]"),
            "{}",
            cut.len()
        );
        assert_eq!(clean_text("short", 10), "short");
    }

    #[test]
    fn html_is_stripped_from_messages() {
        assert_eq!(
            strip_html(
                "You have exceeded your GPU quota (60s requested vs. 56s left). <a href=\"https://hf.co/join\">Create a free account</a> to get more."
            ),
            "You have exceeded your GPU quota (60s requested vs. 56s left). Create a free account to get more."
        );
    }
}

/// `3 min 12 s`, `45 s`, `2 h 5 min`.
pub(crate) fn clock(wait: std::time::Duration) -> String {
    let s = wait.as_secs();
    match (s / 3600, (s % 3600) / 60, s % 60) {
        (0, 0, s) => format!("{s} s"),
        (0, m, 0) => format!("{m} min"),
        (0, m, s) => format!("{m} min {s} s"),
        (h, 0, _) => format!("{h} h"),
        (h, m, _) => format!("{h} h {m} min"),
    }
}

#[cfg(test)]
mod clock_tests {
    use super::clock;
    use std::time::Duration;

    #[test]
    fn waits_read_as_a_clock() {
        assert_eq!(clock(Duration::from_secs(192)), "3 min 12 s");
        assert_eq!(clock(Duration::from_secs(45)), "45 s");
        assert_eq!(clock(Duration::from_secs(120)), "2 min");
        assert_eq!(clock(Duration::from_secs(7500)), "2 h 5 min");
    }
}

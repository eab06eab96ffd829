//! Text from other processes and users, made safe to print on a terminal.
//!
//! [`escape_text`] is the one escaping function for such text: process and
//! user names, command lines, service and registry names, and every line of
//! an error message the command line prints. JSON output keeps the raw text,
//! because JSON escapes it itself.

use std::borrow::Cow;

/// Characters that change how a terminal shows text rather than being
/// shown: controls (C0, DEL, C1: newlines, terminal escapes) and the
/// invisible format characters that reorder or hide text (bidirectional
/// overrides and isolates such as U+202E, zero-width characters, BOM).
fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061c}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

/// Whether `s` has a character that [`escape_text`] escapes.
pub fn needs_escape(s: &str) -> bool {
    s.chars().any(hidden)
}

/// `s` made safe to print on a terminal, on one line. Every control and
/// invisible format character is escaped as in Bash's `$'...'`: `\n`, `\t`,
/// `\r`, `\x1b`, `\u202e`, and `\` doubled among them. Text without such
/// characters comes back unchanged, so escaping twice changes nothing.
pub fn escape_text(s: &str) -> Cow<'_, str> {
    if !needs_escape(s) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\\' => out.push_str("\\\\"),
            c if hidden(c) && (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if hidden(c) => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_a_terminal_would_act_on() {
        assert_eq!(escape_text("plain"), "plain");
        assert_eq!(escape_text("a\\b"), "a\\b", "a backslash alone needs nothing");
        assert_eq!(escape_text("a\nb\\\x1b]0;x\x07\u{202e}"), "a\\nb\\\\\\x1b]0;x\\x07\\u202e");
        for s in ["\x1b[2J", "a\\b\n", "plain", "\u{feff}"] {
            assert_eq!(escape_text(&escape_text(s)), escape_text(s), "{s:?}");
        }
    }
}

//! Text for people: how an I/O error reads in a one-line message, and how text that came from
//! a module, a registry or a file is made safe to print. A leaf module, so that the lowest
//! stages (policy files) and the error type above them share one wording.

use std::borrow::Cow;
use std::fmt::Write;

/// `std::io::Error` without the "(os error N)" suffix.
pub fn io_message(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// Whether `c` must not reach a terminal or a log as it is: C0 controls (line breaks, tab and
/// ESC among them), DEL, C1 controls, the Unicode line and paragraph separators, and the bidi
/// embeddings, overrides and isolates that reorder what follows them on screen.
fn needs_escape(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        | '\u{2028}' | '\u{2029}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}')
}

/// `text` with every character that could move the cursor, change the screen or the window
/// title, start a new line or reorder the line written as a visible escape: `\n`, `\r`, `\t`,
/// `\x1b` (other C0 controls and DEL alike), `\u{85}` (C1 controls, line separators and bidi
/// controls alike). Everything else, backslashes included, is left as it is; text with
/// nothing to escape is returned borrowed.
///
/// Every human-readable output applies it to what it did not write itself (names from a
/// module, a registry's message, a path): one printed line stays one line, and says only
/// what it shows. JSON escapes for itself.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c < '\u{80}' && needs_escape(c) => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `text` cut to its first `max` characters, with `...` and how long it was, when it is
/// longer: for what a remote party sends us to show (a registry's error message).
pub fn capped(text: &str, max: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => Cow::Borrowed(text),
        Some((end, _)) => Cow::Owned(format!(
            "{}... ({} characters in all)",
            &text[..end],
            text.chars().count()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_text_is_borrowed_unchanged() {
        for text in [
            "",
            "wasi_snapshot_preview1",
            "héllo wörld ✓",
            r"C:\path",
            "a b",
        ] {
            assert!(matches!(printable(text), Cow::Borrowed(t) if t == text));
        }
    }

    #[test]
    fn controls_and_bidi_overrides_become_visible_escapes() {
        assert_eq!(
            printable("a\x1b]0;title\x07b\x1b[2J"),
            "a\\x1b]0;title\\x07b\\x1b[2J"
        );
        assert_eq!(printable("x\r\nFAKE LINE: PASS"), "x\\r\\nFAKE LINE: PASS");
        assert_eq!(printable("a\tb\0c\x7f"), "a\\tb\\x00c\\x7f");
        assert_eq!(printable("\u{85}\u{9b}31m"), "\\u{85}\\u{9b}31m");
        assert_eq!(
            printable("safe\u{202e}gnp.exe\u{2066}\u{2069}\u{2028}"),
            "safe\\u{202e}gnp.exe\\u{2066}\\u{2069}\\u{2028}"
        );
        // Every escape is printable itself: nothing below 0x20, no DEL, no C1, no bidi.
        let all: String = (0u32..0x3000).filter_map(char::from_u32).collect();
        assert!(!printable(&all).chars().any(needs_escape));
    }

    #[test]
    fn capped_cuts_long_text_and_says_how_long_it_was() {
        assert_eq!(capped("short", 10), "short");
        assert_eq!(capped("exactly10!", 10), "exactly10!");
        assert_eq!(
            capped("0123456789abc", 10),
            "0123456789... (13 characters in all)"
        );
        // Characters, not bytes: never cut inside one.
        assert_eq!(capped("ééééé", 2), "éé... (5 characters in all)");
    }
}

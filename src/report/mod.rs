//! Rendering: human text (colour on a TTY unless NO_COLOR), JSON, SARIF 2.1.0 and GitHub
//! workflow annotations. Every renderer takes the typed stage values and returns text.

pub mod github;
pub mod human;
pub mod sarif;

use serde::Serialize;

/// The JSON document kinds wasipack prints, with a schema id each.
pub const INSPECT_SCHEMA: &str = "wasipack.inspect/v1";
pub const CHECK_SCHEMA: &str = "wasipack.check/v1";
pub const STRIP_SCHEMA: &str = "wasipack.strip/v1";
pub const BUILD_SCHEMA: &str = "wasipack.build/v1";
pub const PUSH_SCHEMA: &str = "wasipack.push/v1";
pub const PULL_SCHEMA: &str = "wasipack.pull/v1";
pub const LOGIN_SCHEMA: &str = "wasipack.login/v1";
pub const SIGN_SCHEMA: &str = "wasipack.sign/v1";
pub const VERIFY_SCHEMA: &str = "wasipack.verify/v1";
pub const KEYS_SCHEMA: &str = "wasipack.keys/v1";

/// Wraps a value with its schema id and the input file name.
#[derive(Serialize)]
pub struct Envelope<'a, T: Serialize> {
    pub schema: &'static str,
    pub file: &'a str,
    #[serde(flatten)]
    pub body: &'a T,
}

/// A schema-tagged JSON document with no input file (build reports).
pub fn json_bytes<T: Serialize>(schema: &'static str, body: &T) -> Vec<u8> {
    #[derive(Serialize)]
    struct Tagged<'a, T: Serialize> {
        schema: &'static str,
        #[serde(flatten)]
        body: &'a T,
    }
    let mut bytes = serde_json::to_vec_pretty(&Tagged { schema, body }).expect("reports serialize");
    bytes.push(b'\n');
    bytes
}

/// Pretty JSON with a trailing newline.
pub fn json<T: Serialize>(schema: &'static str, file: &str, body: &T) -> String {
    let mut text =
        serde_json::to_string_pretty(&Envelope { schema, file, body }).expect("reports serialize");
    text.push('\n');
    text
}

/// ANSI styling, on or off.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    /// Colour when `stream_is_tty` and NO_COLOR is unset or empty.
    pub fn detect(stream_is_tty: bool) -> Style {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Style {
            color: stream_is_tty && !no_color,
        }
    }

    fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    pub fn red(self, t: &str) -> String {
        self.paint("1;31", t)
    }
    pub fn green(self, t: &str) -> String {
        self.paint("1;32", t)
    }
    pub fn yellow(self, t: &str) -> String {
        self.paint("33", t)
    }
    pub fn bold(self, t: &str) -> String {
        self.paint("1", t)
    }
    pub fn dim(self, t: &str) -> String {
        self.paint("2", t)
    }
}

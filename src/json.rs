//! The JSON documents wasipack writes (`--json` output, `dist/report.json`): each carries a
//! schema id (docs/json.md) and is pretty-printed with a trailing newline. A leaf module, so
//! that `build` writes its report without depending on the renderers in `report`.

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
pub const REBUILD_SCHEMA: &str = "wasipack.rebuild/v1";
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

//! Reading a WebAssembly module or component: what it is, what it imports and uses, and
//! whether it is valid.

pub mod features;
pub mod inspect;
pub mod modinfo;
pub mod validate;
pub mod wasi;

use std::fmt;

/// Everything `inspect` shows: a structural parse (with every feature enabled, so that any
/// valid module can be shown) plus the features its function bodies use. Bodies are not
/// validated here; `check` does that.
pub fn inspect_module(bytes: &[u8]) -> Result<inspect::Inspection, WasmError> {
    let parsed = inspect::parse(bytes, features::FeatureSet::all().to_wasmparser())?;
    let bodies = validate::scan_functions(parsed.functions.iter().map(|(_, b)| b).collect())?;
    let mut module = parsed.inspection;
    module.record_body_features(bodies);
    Ok(module)
}

/// Walks every section of a module or component, checking the framing (section ids and
/// sizes, the code section's entry sizes) without decoding or validating the contents.
pub fn framing(bytes: &[u8]) -> Result<(), WasmError> {
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        payload?;
    }
    Ok(())
}

/// A module that cannot be parsed or does not validate: the message and the byte offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WasmError {
    pub message: String,
    pub offset: u64,
}

impl fmt::Display for WasmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at offset {:#x})", self.message, self.offset)
    }
}

impl std::error::Error for WasmError {}

impl From<wasmparser::BinaryReaderError> for WasmError {
    fn from(e: wasmparser::BinaryReaderError) -> Self {
        // Some wasmparser messages embed pretty-printed arrays over several lines: fold them
        // so that every error stays on one line.
        let message = e.message().split_whitespace().collect::<Vec<_>>().join(" ");
        WasmError {
            message: message.replace("[ ", "[").replace(", ]", "]"),
            offset: e.offset(),
        }
    }
}

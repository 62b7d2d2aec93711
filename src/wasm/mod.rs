//! Reading a WebAssembly module or component: what it is, what it imports and uses, and
//! whether it is valid.

pub mod features;
pub mod inspect;
pub mod modinfo;
pub mod validate;
pub mod wasi;

use std::fmt;

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

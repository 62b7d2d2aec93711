//! wasipack: build, check, package, sign and verify Go WebAssembly (WASI) modules.
//!
//! One module per pipeline stage; stages pass small typed values to each other
//! ([`wasm::inspect::Inspection`], [`check::CheckReport`]), and errors are typed
//! ([`error::Error`]) and rendered once, by the CLI.

pub mod check;
pub mod error;
pub mod policy;
pub mod report;
pub mod wasm;

pub use error::{Error, Result};

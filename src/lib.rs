//! wasipack: inspect Go WebAssembly (WASI) modules and check them against a policy. Build,
//! package, sign and verify stages come next, one library module each.
//!
//! One module per pipeline stage; stages pass small typed values to each other
//! ([`wasm::inspect::Inspection`], [`check::CheckReport`]), and errors are typed
//! ([`error::Error`]) and rendered once, by the CLI.

pub mod build;
pub mod check;
pub mod error;
pub mod fsio;
pub mod oci;
pub mod policy;
pub mod report;
pub mod rewrite;
pub mod sbom;
pub mod sign;
pub mod wasm;

pub use error::{Error, Result};

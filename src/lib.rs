//! wasipack: build Go programs into WebAssembly (WASI) modules that can be trusted: checked
//! against a policy, stripped, packaged as OCI artifacts with SBOMs, pushed, signed and
//! verified.
//!
//! One module per pipeline stage, each depending only on the stages before it:
//! [`wasm`] (parse, inspect, validate) → [`policy`] → [`check`] → [`rewrite`] and [`sbom`] →
//! [`oci`] (artifact, layout, registry transport) → [`sign`] (keys, payloads, signature
//! checks) → [`build`] and [`workflow`] (push, pull, verify: what a user runs). [`digest`],
//! [`text`], [`json`] and [`fsio`] are leaves every stage may use; [`report`] renders results; [`error`]
//! gathers the domain errors into the one type the CLI renders. Stages pass small typed values
//! to each other ([`wasm::inspect::Inspection`], [`check::CheckReport`]); the library never
//! prints (progress reaches the caller through [`oci::progress::Observer`]); docs/architecture.md
//! draws the map.

pub mod build;
pub mod check;
pub mod digest;
pub mod error;
pub mod fsio;
pub mod interrupt;
pub mod json;
pub mod oci;
pub mod policy;
pub mod report;
pub mod rewrite;
pub mod sbom;
pub mod sign;
pub mod text;
pub mod wasm;
pub mod workflow;

pub use error::{Error, Result};

//! Workflows: what a user runs, made of the stages below. Each combines the OCI transport
//! ([`crate::oci`]) with signing ([`crate::sign`]), SBOMs ([`crate::sbom`]), checks
//! ([`crate::check`]) and build metadata ([`crate::build`]); nothing below this layer knows
//! of them. As oras-go keeps `copy` above its content stores, transport stays transport.
//!
//! The ordering rule every publishing workflow keeps (see [`push::publish`]): nothing is
//! tagged before every blob is stored and checked and the signing key has opened. A tag is
//! the only thing a consumer resolves; a tag on a manifest whose blobs are missing or wrong,
//! or that should have been signed and was not, is the one outcome that must not happen.

pub mod pull;
pub mod push;
pub mod rebuild;
pub mod source;
pub mod verify;

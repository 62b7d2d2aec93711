//! The package and distribute stages: the CNCF TAG Runtime Wasm OCI artifact, an OCI image
//! layout on disk to hold it with everything that refers to it, and a registry client to push
//! and pull it.

pub mod artifact;
pub mod auth;
pub mod layout;
pub mod pull;
pub mod push;
pub mod reference;
pub mod remote;
pub mod store;

pub use artifact::{Artifact, Descriptor};
pub use layout::Layout;
pub use reference::{Reference, Target};
pub use store::Store;

//! The package stage: the CNCF TAG Runtime Wasm OCI artifact, and an OCI image layout on disk
//! to hold it with everything that refers to it (SBOMs now; signatures later).

pub mod artifact;
pub mod layout;

pub use artifact::{Artifact, Descriptor};
pub use layout::Layout;

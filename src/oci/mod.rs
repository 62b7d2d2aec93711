//! OCI transport and storage: the CNCF TAG Runtime Wasm OCI artifact, an OCI image layout on
//! disk to hold it with everything that refers to it, and a registry client. It knows blobs,
//! manifests, tags and referrers, and nothing of signing, SBOMs or builds: the workflows in
//! [`crate::workflow`] combine it with those.

pub mod artifact;
pub mod auth;
pub mod confirm;
pub mod layout;
pub mod model;
pub mod progress;
pub mod reference;
pub mod remote;
pub mod store;

pub use artifact::{Artifact, Descriptor};
pub use layout::Layout;
pub use reference::{Reference, Target};
pub use store::Store;

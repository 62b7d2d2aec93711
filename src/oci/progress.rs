//! What the transport tells its caller while it works, through hooks the caller implements:
//! a line for each request (for `-v`), a note when it changes its plan, and the progress of
//! each blob it sends or receives. The library prints nothing itself; the CLI draws progress
//! bars and writes `-v` lines from these hooks, and a library user may ignore them all.

use super::artifact::Descriptor;
use std::sync::Arc;

/// Hooks the registry client calls. Every method has a default that does nothing.
pub trait Observer: Send + Sync {
    /// A request was answered: what it was for, the URL path, the HTTP status. Headers (and so
    /// credentials) are never passed.
    fn response(&self, _what: &str, _path: &str, _status: u16) {}
    /// A request got no answer (connection refused, timeout, TLS): what it was for, and why.
    fn no_response(&self, _what: &str, _why: &str) {}
    /// The client changed its plan (a registry refused a single-request upload, chunks, or a
    /// body that was too large) and says how it goes on.
    fn note(&self, _message: &str) {}
    /// A blob transfer starts (`verb` is `push` or `pull`); the returned handle hears its
    /// progress.
    fn transfer(&self, _verb: &str, _blob: &Descriptor) -> Box<dyn Transfer> {
        Box::new(Silent)
    }
}

/// The progress of one blob transfer.
pub trait Transfer: Send + Sync {
    /// `done` bytes of the blob have gone (or come) so far.
    fn position(&self, _done: u64) {}
    /// `n` more bytes have gone (or come).
    fn advance(&self, _n: u64) {}
    /// The transfer ended, well (`ok`) or not.
    fn end(&self, _ok: bool) {}
}

/// Hears nothing: the default observer.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Observer for Silent {}
impl Transfer for Silent {}

/// An observer to share between the client's tasks.
#[derive(Clone)]
pub struct Shared(pub Arc<dyn Observer>);

impl Default for Shared {
    fn default() -> Self {
        Shared(Arc::new(Silent))
    }
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Observer")
    }
}

impl std::ops::Deref for Shared {
    type Target = dyn Observer;
    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

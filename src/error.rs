//! The library's error type. Every variant renders as one line naming the file, field or
//! offset; the CLI prints it once and exits with [`Error::exit_code`].

use crate::check::CheckError;
use crate::policy::PolicyError;
pub use crate::text::io_message;
use crate::wasm::WasmError;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: cannot read: {}", path.display(), io_message(source))]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: cannot write: {}", path.display(), io_message(source))]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}: invalid module: {error}")]
    Wasm { file: String, error: WasmError },
    #[error("{file}: {error}")]
    Check { file: String, error: CheckError },
    #[error("policy {0}")]
    Policy(#[from] PolicyError),
    /// A bad `wasipack.toml` (same shape of error as a policy file's).
    #[error("{0}")]
    Config(PolicyError),
    /// The compiler failed; its messages were streamed to stderr already.
    #[error("{tool} build of `{package}` failed (exit status {code}); its messages are above")]
    Compile {
        tool: String,
        package: String,
        code: i32,
    },
    /// A registry or network failure, or a store whose contents are not what they claim;
    /// the message names the registry and repository (never a secret).
    #[error("{0}")]
    Registry(String),
    /// Bytes that do not match their digest (a registry or layout sent or holds the wrong
    /// bytes); names where they came from.
    #[error("{0}")]
    Integrity(String),
    /// A key file that cannot be used (wrong password, unknown format); names the file.
    #[error("{0}")]
    Key(String),
    /// A bad command-line value that clap could not judge (an invalid glob, say).
    #[error("{0}")]
    Usage(String),
    /// A build step failed in a way of its own (a toolchain refused, `go list` failed, ...).
    #[error("{0}")]
    Build(#[from] crate::build::BuildError),
}

impl Error {
    /// The documented exit code: 2 for invalid input, bad policies and I/O errors.
    /// A compile error passes the compiler's own status through.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Compile { code, .. } => (*code).clamp(1, 255),
            _ => 2,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

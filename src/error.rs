//! The library's error type. Every variant renders as one line naming the file, field or
//! offset; the CLI prints it once and exits with [`Error::exit_code`].

mod registry;

pub use registry::{RegistryError, RegistryErrorKind};

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
    /// A registry or network failure, typed (status, distribution-spec error code, kind) so
    /// that retries are decided on what happened; the message names the registry and
    /// repository (never a secret).
    #[error(transparent)]
    Registry(Box<RegistryError>),
    /// Bytes that do not match their digest (a registry or layout sent or holds the wrong
    /// bytes); names where they came from.
    #[error("{0}")]
    Integrity(String),
    /// A key or its password that cannot be used (wrong password, unknown format, no way to
    /// ask for the password); names the file.
    #[error("{0}")]
    Key(String),
    /// A reference, tag, digest or registry name that does not parse.
    #[error("{0}")]
    Reference(String),
    /// An input that is not what it claims to be: a file that is not JSON, a module without
    /// the Go build info a command needs, a stored manifest that does not parse.
    #[error("{0}")]
    Input(String),
    /// A bad command-line value or combination that clap could not judge (an invalid glob,
    /// two flags that exclude each other), or a bad setting in the environment
    /// (`SOURCE_DATE_EPOCH`).
    #[error("{0}")]
    Usage(String),
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

    /// Whether trying again may succeed: a registry error that is
    /// [retryable](RegistryError::retryable) (5xx, 429, a connection error). Nothing else is.
    pub fn retryable(&self) -> bool {
        matches!(self, Error::Registry(e) if e.retryable())
    }

    /// A registry failure with only a message (kind [`RegistryErrorKind::Protocol`]).
    pub fn registry(message: impl Into<String>) -> Error {
        RegistryError::other(message).into()
    }
}

/// `SOURCE_DATE_EPOCH` that is not a Unix time (or a clock out of range): a bad setting.
impl From<crate::sbom::TimeError> for Error {
    fn from(e: crate::sbom::TimeError) -> Error {
        Error::Usage(e.to_string())
    }
}

impl From<RegistryError> for Error {
    fn from(e: RegistryError) -> Error {
        Error::Registry(Box::new(e))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

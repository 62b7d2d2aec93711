//! The library's error type. Every variant renders as one line naming the file, field or
//! offset; the CLI prints it once and exits with [`Error::exit_code`] (with `-v`, followed by
//! the causes that line does not already say). Each variant is one kind of error in
//! `docs/exit-codes.md`; a test keeps the two in step.

mod build;
mod keyless;
mod rebuild;
mod registry;

pub use build::BuildError;
pub use keyless::{Doing, Failure, KeylessError, Service};
pub use rebuild::RebuildError;
pub use registry::{RegistryError, RegistryErrorKind, MESSAGE_CAP};

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
    /// A build step failed in a way of its own (a toolchain refused, `go list` failed, ...).
    #[error("{0}")]
    Build(#[from] BuildError),
    #[error("{0}")]
    Keyless(#[from] KeylessError),
    /// `rebuild` could not judge: no provenance, an unreachable source, another toolchain.
    #[error("{0}")]
    Rebuild(#[from] RebuildError),
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
    /// [retryable](RegistryError::retryable) (5xx, 429, a connection error), or a Sigstore
    /// service's ([`KeylessError::retryable`], the same kinds). Nothing else is.
    pub fn retryable(&self) -> bool {
        match self {
            Error::Registry(e) => e.retryable(),
            Error::Keyless(e) => e.retryable(),
            _ => false,
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// One value of every variant.
    fn one_of_each() -> Vec<Error> {
        let io = || std::io::Error::from(std::io::ErrorKind::NotFound);
        let wasm = || WasmError {
            message: "unexpected end-of-file".into(),
            offset: 8,
        };
        let policy = || PolicyError {
            file: "p.toml".into(),
            line: 2,
            column: 1,
            message: "unknown field `module`".into(),
        };
        vec![
            Error::Read {
                path: "in.wasm".into(),
                source: io(),
            },
            Error::Write {
                path: "out.wasm".into(),
                source: io(),
            },
            Error::Wasm {
                file: "in.wasm".into(),
                error: wasm(),
            },
            Error::Check {
                file: "in.wasm".into(),
                error: CheckError::WrongKind("this is a component".into()),
            },
            Error::Policy(policy()),
            Error::Config(policy()),
            Error::Compile {
                tool: "go".into(),
                package: "./app".into(),
                code: 3,
            },
            RegistryError::status(401, Some("UNAUTHORIZED".into()), "401 Unauthorized").into(),
            Error::Integrity("r/x: blob sha256:00 holds other bytes".into()),
            Error::Key("cosign.key: wrong password".into()),
            Error::Reference("reference `A`: no repository name".into()),
            Error::Input("p.json: not JSON".into()),
            Error::Usage("--annotation `a`: expected KEY=VALUE".into()),
            BuildError::GoTooOld("go1.20.14".into()).into(),
            KeylessError::NoToken.into(),
            RebuildError::Toolchain {
                program: "go".into(),
                needed: "go1.26.8".into(),
                found: "go1.26.7".into(),
            }
            .into(),
        ]
    }

    /// The variant's name, as its row in docs/exit-codes.md names it, and the exit code that
    /// row documents. No wildcard: a new variant does not compile until it is added here, and
    /// the test below then wants its row.
    fn documented(e: &Error) -> (&'static str, &'static str) {
        match e {
            Error::Read { .. } => ("Read", "2"),
            Error::Write { .. } => ("Write", "2"),
            Error::Wasm { .. } => ("Wasm", "2"),
            Error::Check { .. } => ("Check", "2"),
            Error::Policy(_) => ("Policy", "2"),
            Error::Config(_) => ("Config", "2"),
            Error::Compile { .. } => ("Compile", "the compiler's status"),
            Error::Registry(_) => ("Registry", "2"),
            Error::Integrity(_) => ("Integrity", "2"),
            Error::Key(_) => ("Key", "2"),
            Error::Reference(_) => ("Reference", "2"),
            Error::Input(_) => ("Input", "2"),
            Error::Usage(_) => ("Usage", "2"),
            Error::Build(_) => ("Build", "2"),
            Error::Keyless(_) => ("Keyless", "2"),
            Error::Rebuild(_) => ("Rebuild", "2"),
        }
    }

    #[test]
    fn every_kind_of_error_has_its_exit_code_and_its_row_in_exit_codes_md() {
        let doc = include_str!("../docs/exit-codes.md");
        let table: Vec<Vec<&str>> = doc
            .lines()
            .skip_while(|l| *l != "## Kinds of error")
            .skip_while(|l| !l.starts_with("| Kind |"))
            .skip(2)
            .take_while(|l| l.starts_with('|'))
            .map(|l| l.trim_matches('|').split(" | ").map(str::trim).collect())
            .collect();
        let mut named = Vec::new();
        for e in one_of_each() {
            let (name, code) = documented(&e);
            let row = table
                .iter()
                .find(|row| row[0] == format!("`{name}`"))
                .unwrap_or_else(|| panic!("docs/exit-codes.md has no row for `{name}`"));
            assert_eq!(row.len(), 3, "{name}: {row:?}");
            assert!(!row[1].is_empty(), "{name}: the row says what went wrong");
            assert_eq!(row[2], code, "{name}: the documented exit code");
            let expected = match &e {
                Error::Compile { code, .. } => *code,
                _ => code.parse().expect("a number"),
            };
            assert_eq!(e.exit_code(), expected, "{name}");
            let line = e.to_string();
            assert!(!line.is_empty() && !line.contains('\n'), "{name}: {line:?}");
            named.push(format!("`{name}`"));
        }
        let rows: Vec<String> = table.iter().map(|row| row[0].to_string()).collect();
        assert_eq!(rows, named, "one row per kind, in the enum's order");
    }

    #[test]
    fn a_compile_error_passes_the_compilers_status_through() {
        let compile = |code| Error::Compile {
            tool: "go".into(),
            package: "./app".into(),
            code,
        };
        assert_eq!(compile(1).exit_code(), 1);
        assert_eq!(compile(0).exit_code(), 1);
        assert_eq!(compile(300).exit_code(), 255);
    }

    #[test]
    fn only_registry_errors_that_may_pass_are_retryable() {
        assert!(Error::from(RegistryError::status(503, None, "503")).retryable());
        assert!(!Error::from(RegistryError::status(404, None, "404")).retryable());
        assert!(!Error::registry("not JSON").retryable());
        assert!(!Error::Integrity("mismatch".into()).retryable());
    }

    #[test]
    fn a_bad_source_date_epoch_is_a_usage_error() {
        let e = Error::from(crate::sbom::TimeError::SourceDateEpoch("yesterday".into()));
        assert!(matches!(e, Error::Usage(_)));
        assert_eq!(
            e.to_string(),
            "SOURCE_DATE_EPOCH=`yesterday` is not a Unix time in seconds"
        );
    }
}

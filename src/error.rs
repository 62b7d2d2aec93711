//! The library's error type. Every variant renders as one line naming the file, field or
//! offset; the CLI prints it once and exits with [`Error::exit_code`].

use crate::check::CheckError;
use crate::policy::PolicyError;
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
}

impl Error {
    /// The documented exit code: 2 for invalid input, bad policies and I/O errors.
    pub fn exit_code(&self) -> i32 {
        2
    }
}

/// `std::io::Error` without the "(os error N)" suffix.
pub fn io_message(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Reads a whole input file, refusing directories with a clear message.
pub fn read_input(path: &std::path::Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename, so
/// that a reader never sees half a file and a failure leaves nothing behind.
pub fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let fail = |source| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".wasipack-")
        .tempfile_in(dir)
        .map_err(fail)?;
    tmp.write_all(bytes).map_err(fail)?;
    tmp.as_file().sync_all().map_err(fail)?;
    tmp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}

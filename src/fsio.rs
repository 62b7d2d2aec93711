//! Reading inputs and writing outputs safely.

use crate::error::{Error, Result};
use std::path::Path;

/// The bytes of an input file: mapped when it is a regular file, read otherwise.
pub enum Input {
    Mapped(memmap2::Mmap),
    /// A private copy-on-write mapping ([`read_input_private`]).
    Private(memmap2::MmapMut),
    Read(Vec<u8>),
}

impl std::ops::Deref for Input {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Input::Mapped(m) => m,
            Input::Private(m) => m,
            Input::Read(v) => v,
        }
    }
}

impl Input {
    /// The bytes as a shareable buffer, without copying a mapped file.
    pub fn into_bytes(self) -> bytes::Bytes {
        match self {
            Input::Mapped(m) => bytes::Bytes::from_owner(m),
            Input::Private(m) => bytes::Bytes::from_owner(m),
            Input::Read(v) => bytes::Bytes::from(v),
        }
    }

    /// The bytes, to change in memory (never in the file); `None` for a shared mapping.
    pub fn as_mut_slice(&mut self) -> Option<&mut [u8]> {
        match self {
            Input::Mapped(_) => None,
            Input::Private(m) => Some(m),
            Input::Read(v) => Some(v),
        }
    }
}

/// Reads a whole input file, refusing directories with a clear message.
///
/// A regular file is memory-mapped rather than copied: copying a 20 MB module into fresh heap
/// pages costs more than validating a fifth of it (measured with bench/check.sh). The mapping
/// is private and read-only; as with any mapped input (ripgrep does the same), a file truncated
/// by another process while we read it would fault, so build outputs are written by rename.
pub fn read_input(path: &Path) -> Result<Input> {
    read(path, false)
}

/// [`read_input`], as bytes that may be changed in memory: a private copy-on-write mapping,
/// where a page is copied only when written (a rewrite that changes a module's last sections
/// copies those pages, not the module).
pub fn read_input_private(path: &Path) -> Result<Input> {
    read(path, true)
}

fn read(path: &Path, private: bool) -> Result<Input> {
    let fail = |source| Error::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(fail)?;
    let meta = file.metadata().map_err(fail)?;
    if meta.is_dir() {
        return Err(fail(std::io::Error::from(std::io::ErrorKind::IsADirectory)));
    }
    if meta.is_file() && meta.len() > 0 {
        // SAFETY: the map is read-only and private; see the note above on concurrent truncation.
        let options = memmap2::MmapOptions::new();
        return if private {
            // SAFETY: as above; writes go to private copies of the pages, never to the file.
            let map = unsafe { options.map_copy(&file) }.map_err(fail)?;
            Ok(Input::Private(map))
        } else {
            let map = unsafe { options.map(&file) }.map_err(fail)?;
            Ok(Input::Mapped(map))
        };
    }
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut { file }, &mut bytes).map_err(fail)?;
    Ok(Input::Read(bytes))
}

/// A temporary file in `dir` that will become an ordinary output file (mode 0644 on Unix, not
/// the 0600 temporary files get).
pub fn temp_in(dir: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    temp_with_mode(dir, 0o644)
}

/// A temporary file in `dir` that will become a file only its owner reads (mode 0600): a
/// private key, stored credentials.
pub fn private_temp_in(dir: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    temp_with_mode(dir, 0o600)
}

fn temp_with_mode(dir: &Path, mode: u32) -> std::io::Result<tempfile::NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".wasipack-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(mode));
    }
    #[cfg(not(unix))]
    let _ = mode;
    builder.tempfile_in(dir)
}

/// The directory `path` is written in (`.` for a bare file name).
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename, so
/// that a reader never sees half a file and a failure leaves nothing behind (no fsync: see
/// `build::dist`).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let fail = |source| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut tmp = temp_in(parent_dir(path)).map_err(fail)?;
    write_all(tmp.as_file_mut(), bytes).map_err(fail)?;
    tmp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}

/// Writes `bytes` to a new, empty file. A large file's blocks are reserved first: on ext4 that
/// makes writing a 20 MB module a third cheaper (one reservation, not one per page) and less
/// likely to stall behind writeback (measured with bench/build.sh).
pub fn write_all(file: &mut std::fs::File, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(target_os = "linux")]
    if bytes.len() >= 1 << 20 {
        // Only an optimisation: a filesystem without fallocate just gets the plain write.
        let _ = rustix::fs::fallocate(
            &*file,
            rustix::fs::FallocateFlags::empty(),
            0,
            bytes.len() as u64,
        );
    }
    file.write_all(bytes)
}

//! Reading inputs and writing outputs safely.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

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

/// The most read from an input that is not a regular file (a pipe, process substitution, a
/// device): such an input has no size to check first, so it is streamed up to this many bytes
/// and refused beyond them (`/dev/zero` would otherwise grow without bound). A regular file of
/// any size is mapped.
pub const STREAM_LIMIT: u64 = 128 << 20;

/// Regular files this large or larger are mapped; smaller ones are read. Mapping pays off for
/// modules (megabytes); a layout's small blobs (signatures, SBOMs, manifests) are read, so that
/// a layout with 100k referrers holds no map per blob (the kernel allows about 65k maps to a
/// process).
pub const MAP_AT_LEAST: u64 = 1 << 20;

/// The most read from a small text input: a key, a signature, a policy, `wasipack.toml`, a
/// credentials file, `go.sum`.
pub const TEXT_LIMIT: u64 = 16 << 20;

/// The most read from a document read whole into memory: an attestation predicate, an SBOM.
pub const DOCUMENT_LIMIT: u64 = 128 << 20;

/// Reads a whole input file, refusing directories with a clear message.
///
/// A regular file is memory-mapped rather than copied: copying a 20 MB module into fresh heap
/// pages costs more than validating a fifth of it (measured with bench/check.sh). The mapping
/// is private and read-only; as with any mapped input (ripgrep does the same), a file truncated
/// by another process while we read it would fault (SIGBUS), so build outputs are written by
/// rename, and the CLI turns that fault into the one line "a file changed while it was read".
/// A file under [`MAP_AT_LEAST`] bytes is read, not mapped. Anything else (a pipe, a device) is streamed up to [`STREAM_LIMIT`] bytes.
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
    if meta.is_file() && meta.len() >= MAP_AT_LEAST {
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
    read_open(file, &meta, STREAM_LIMIT)
        .map(Input::Read)
        .map_err(fail)
}

/// Reads a whole file of at most `limit` bytes: a regular file larger than that is refused
/// before it is read, anything else (a pipe, a device such as `/dev/zero`) is read up to the
/// limit and refused beyond it. Every input wasipack reads whole into memory comes through
/// here or [`read_input`]. The errors are plain I/O errors (kind `FileTooLarge` for the
/// limit, `IsADirectory` for a directory) so that the stages below [`Error`] can use it.
pub fn read_bounded(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    if meta.is_dir() {
        return Err(std::io::Error::from(std::io::ErrorKind::IsADirectory));
    }
    read_open(file, &meta, limit)
}

/// [`read_bounded`] as UTF-8 text.
pub fn read_text_bounded(path: &Path, limit: u64) -> std::io::Result<String> {
    String::from_utf8(read_bounded(path, limit)?)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"))
}

/// [`read_bounded`] with the error as the one-line [`Error::Read`] naming the file.
pub fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>> {
    read_bounded(path, limit).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// [`read_text_bounded`] with the error as the one-line [`Error::Read`] naming the file.
pub fn read_text_limited(path: &Path, limit: u64) -> Result<String> {
    read_text_bounded(path, limit).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn read_open(
    file: std::fs::File,
    meta: &std::fs::Metadata,
    limit: u64,
) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    if meta.is_file() && meta.len() > limit {
        return Err(too_large(format!("{} bytes", meta.len()), limit));
    }
    let mut bytes = Vec::with_capacity(if meta.is_file() {
        meta.len() as usize
    } else {
        0
    });
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        let what = if meta.is_file() {
            "it grew while it was read, and holds more than".to_string()
        } else {
            "not a regular file, and it sends more than".to_string()
        };
        return Err(std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!("{what} {}, the most read from it", human_size(limit)),
        ));
    }
    Ok(bytes)
}

fn too_large(size: String, limit: u64) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::FileTooLarge,
        format!(
            "{size}, more than the {} read from a file of its kind",
            human_size(limit)
        ),
    )
}

/// `n` bytes as people read it: `16 MiB`, `512 KiB`, `100 bytes`.
fn human_size(n: u64) -> String {
    match n {
        n if n >= 1 << 30 && n % (1 << 30) == 0 => format!("{} GiB", n >> 30),
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n => format!("{n} bytes"),
    }
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
    // `.wasipack-PID-`, in a directory the interrupt handler knows: Ctrl-C or SIGTERM removes
    // this process's temporary files (`interrupt::clean_up`).
    let prefix = crate::interrupt::temp_prefix();
    builder.prefix(&prefix);
    crate::interrupt::temp_dir(dir);
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

/// Where an output path leads, decided from what is there now. Atomic replacement (a
/// temporary file beside the destination, then a rename) is for regular files only: a device
/// or a FIFO is opened and written in place, and nothing that is not a regular file we are
/// replacing is ever unlinked.
#[derive(Debug, PartialEq, Eq)]
pub enum Destination {
    /// Nothing yet, or a regular file: replaced atomically. When the path is a symlink this is
    /// the file it leads to (the link itself is kept).
    Replace(PathBuf),
    /// A FIFO, or a character or block device (`/dev/null`, a terminal): written in place.
    InPlace(PathBuf),
    /// `-`, where the caller lets it mean standard output.
    Stdout,
}

impl Destination {
    /// What writing to `path` means. With `dash_is_stdout`, `-` is standard output. A
    /// directory, a socket or an unresolvable symlink is an error.
    pub fn of(path: &Path, dash_is_stdout: bool) -> std::io::Result<Destination> {
        use std::io::{Error as IoError, ErrorKind};
        if dash_is_stdout && path.as_os_str() == "-" {
            return Ok(Destination::Stdout);
        }
        let link = std::fs::symlink_metadata(path).map(|m| m.file_type().is_symlink());
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_file() => Ok(Destination::Replace(if link? {
                // The kernel's resolution (it also reads /proc/self/fd/N correctly).
                std::fs::canonicalize(path)?
            } else {
                path.to_path_buf()
            })),
            Ok(meta) if meta.is_dir() => Err(IoError::from(ErrorKind::IsADirectory)),
            Ok(meta) if is_device_or_fifo(&meta.file_type()) => {
                Ok(Destination::InPlace(path.to_path_buf()))
            }
            Ok(_) => Err(IoError::new(
                ErrorKind::InvalidInput,
                "not a regular file, a device or a FIFO",
            )),
            Err(e) if e.kind() == ErrorKind::NotFound => match link {
                // A dangling symlink: the file is created where it points, as a shell's `>`
                // would.
                Ok(true) => Ok(Destination::Replace(dangling_target(path)?)),
                _ => Ok(Destination::Replace(path.to_path_buf())),
            },
            Err(e) => Err(e),
        }
    }

    /// Opens a device or FIFO for writing (no create, no truncate: there is nothing to
    /// truncate).
    fn open_in_place(path: &Path) -> std::io::Result<std::fs::File> {
        std::fs::OpenOptions::new().write(true).open(path)
    }
}

#[cfg(unix)]
fn is_device_or_fifo(t: &std::fs::FileType) -> bool {
    use std::os::unix::fs::FileTypeExt;
    t.is_fifo() || t.is_char_device() || t.is_block_device()
}

#[cfg(not(unix))]
fn is_device_or_fifo(_: &std::fs::FileType) -> bool {
    false
}

/// The path a chain of symlinks ends at when its last target does not exist yet.
fn dangling_target(path: &Path) -> std::io::Result<PathBuf> {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = std::fs::read_link(&p)?;
                p = parent_dir(&p).join(target);
            }
            _ => return Ok(p),
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        "too many levels of symbolic links",
    ))
}

/// Writes `bytes` to `path`: a regular file (or a new one) through a temporary file in the
/// same directory and a rename, so that a reader never sees half a file and a failure leaves
/// nothing behind (no fsync: see `build::dist`); through a symlink to the file it names; and to
/// a device or a FIFO directly ([`Destination`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_to(path, bytes, false, 0o644)
}

/// [`write_atomic`] for a file only its owner reads (mode 0600 when it is created or
/// replaced): stored credentials.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    write_to(path, bytes, false, 0o600)
}

/// [`write_atomic`] for an output the user named where `-` means standard output.
pub fn write_output(path: &Path, bytes: &[u8]) -> Result<()> {
    write_to(path, bytes, true, 0o644)
}

fn write_to(path: &Path, bytes: &[u8], dash_is_stdout: bool, mode: u32) -> Result<()> {
    use std::io::Write;
    let fail = |source| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    match Destination::of(path, dash_is_stdout).map_err(fail)? {
        Destination::Replace(dest) => {
            let mut tmp = temp_with_mode(parent_dir(&dest), mode).map_err(fail)?;
            write_all(tmp.as_file_mut(), bytes).map_err(fail)?;
            tmp.persist(&dest).map_err(|e| fail(e.error))?;
        }
        Destination::InPlace(dest) => {
            let mut file = Destination::open_in_place(&dest).map_err(fail)?;
            file.write_all(bytes).map_err(fail)?;
        }
        Destination::Stdout => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes)
                .and_then(|()| out.flush())
                .map_err(fail)?;
        }
    }
    Ok(())
}

/// An output written in pieces and kept only when [`Staged::commit`] is called: a temporary
/// file beside a regular destination (renamed over it), or, for a device, a FIFO or stdout, an
/// anonymous temporary file copied there on commit, so that nothing reaches the reader before
/// the whole output is known to be good. Dropped uncommitted, it leaves nothing behind.
pub struct Staged {
    path: PathBuf,
    dest: Destination,
    named: Option<tempfile::NamedTempFile>,
    anonymous: Option<std::fs::File>,
}

impl Staged {
    /// Stages an output for `path` (`-` is stdout when `dash_is_stdout`).
    pub fn new(path: &Path, dash_is_stdout: bool) -> Result<Staged> {
        let fail = |source| Error::Write {
            path: path.to_path_buf(),
            source,
        };
        let dest = Destination::of(path, dash_is_stdout).map_err(fail)?;
        let (named, anonymous) = match &dest {
            Destination::Replace(p) => (Some(temp_in(parent_dir(p)).map_err(fail)?), None),
            _ => (None, Some(tempfile::tempfile().map_err(fail)?)),
        };
        Ok(Staged {
            path: path.to_path_buf(),
            dest,
            named,
            anonymous,
        })
    }

    /// The file to write the output into.
    pub fn file_mut(&mut self) -> &mut std::fs::File {
        match (&mut self.named, &mut self.anonymous) {
            (Some(t), _) => t.as_file_mut(),
            (None, Some(f)) => f,
            (None, None) => unreachable!("a staged output has a file"),
        }
    }

    /// Puts the output in place.
    pub fn commit(self) -> Result<()> {
        use std::io::{Seek, Write};
        let fail = |source| Error::Write {
            path: self.path.clone(),
            source,
        };
        if let (Some(tmp), Destination::Replace(dest)) = (self.named, &self.dest) {
            tmp.persist(dest).map_err(|e| fail(e.error))?;
            return Ok(());
        }
        let mut file = self.anonymous.expect("a staged output has a file");
        file.rewind().map_err(fail)?;
        match &self.dest {
            Destination::InPlace(dest) => {
                let mut out = Destination::open_in_place(dest).map_err(fail)?;
                std::io::copy(&mut file, &mut out).map_err(fail)?;
            }
            _ => {
                let mut out = std::io::stdout().lock();
                std::io::copy(&mut file, &mut out)
                    .and_then(|_| out.flush())
                    .map_err(fail)?;
            }
        }
        Ok(())
    }
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

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn destinations_by_what_is_there() {
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n);
        assert_eq!(
            Destination::of(&p("new"), false).unwrap(),
            Destination::Replace(p("new"))
        );
        assert_eq!(
            Destination::of(Path::new("-"), true).unwrap(),
            Destination::Stdout
        );
        assert_eq!(
            Destination::of(Path::new("-"), false).unwrap(),
            Destination::Replace("-".into())
        );
        assert_eq!(
            Destination::of(Path::new("/dev/null"), false).unwrap(),
            Destination::InPlace("/dev/null".into())
        );
        // A chain of links whose end does not exist yet: the file is made at the end.
        std::os::unix::fs::symlink("b", p("a")).unwrap();
        std::os::unix::fs::symlink("c", p("b")).unwrap();
        assert_eq!(
            Destination::of(&p("a"), false).unwrap(),
            Destination::Replace(p("c"))
        );
        std::fs::write(p("c"), b"x").unwrap();
        assert_eq!(
            Destination::of(&p("a"), false).unwrap(),
            Destination::Replace(std::fs::canonicalize(p("c")).unwrap())
        );
        // A loop of links, a directory and a socket are refused.
        std::os::unix::fs::symlink("loop2", p("loop1")).unwrap();
        std::os::unix::fs::symlink("loop1", p("loop2")).unwrap();
        assert!(Destination::of(&p("loop1"), false).is_err());
        assert!(Destination::of(dir.path(), false).is_err());
        let _socket = std::os::unix::net::UnixListener::bind(p("sock")).unwrap();
        assert_eq!(
            Destination::of(&p("sock"), false).unwrap_err().kind(),
            std::io::ErrorKind::InvalidInput
        );
    }

    /// A layout with 100k referrers once aborted when the maps ran out (one per blob held):
    /// small inputs are read, so holding a thousand of them adds no map.
    #[cfg(target_os = "linux")]
    #[test]
    fn small_inputs_held_at_once_take_no_memory_map_each() {
        let dir = tempfile::tempdir().unwrap();
        let maps = || {
            std::fs::read_to_string("/proc/self/maps")
                .unwrap()
                .lines()
                .count()
        };
        for i in 0..1000 {
            std::fs::write(dir.path().join(i.to_string()), vec![7u8; 4096]).unwrap();
        }
        let before = maps();
        let held: Vec<Input> = (0..1000)
            .map(|i| read_input(&dir.path().join(i.to_string())).unwrap())
            .collect();
        assert!(held.iter().all(|b| b.len() == 4096 && b[0] == 7));
        // Other tests of this binary map and unmap meanwhile: allow them some.
        assert!(
            maps() < before + 200,
            "{} maps before, {} after",
            before,
            maps()
        );
        // A large input is still mapped.
        let big = dir.path().join("big");
        std::fs::File::create(&big)
            .unwrap()
            .set_len(MAP_AT_LEAST)
            .unwrap();
        assert!(matches!(read_input(&big).unwrap(), Input::Mapped(_)));
    }

    #[test]
    fn a_staged_output_dropped_uncommitted_leaves_nothing() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        std::fs::write(&out, b"old").unwrap();
        let mut staged = Staged::new(&out, false).unwrap();
        staged.file_mut().write_all(b"half").unwrap();
        drop(staged);
        assert_eq!(std::fs::read(&out).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let mut staged = Staged::new(&out, false).unwrap();
        staged.file_mut().write_all(b"new").unwrap();
        staged.commit().unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}

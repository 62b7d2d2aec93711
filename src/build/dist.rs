//! Writing a build's outputs all or nothing: every file is first written to a temporary file
//! beside its destination; only when all are written are they renamed into place (blobs first,
//! `index.json` last). Dropping a [`Stage`] uncommitted removes the temporary files and any
//! directory it created. Like compilers, we do not fsync: the rename makes each file appear
//! whole or not at all to other processes; durability across a power cut is the OS's.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// One staged output.
enum Staged {
    /// A temporary file to rename over a regular file (or where none is yet).
    Temp(tempfile::NamedTempFile, PathBuf),
    /// Bytes for a device or a FIFO, written in place on commit.
    InPlace(Vec<u8>, PathBuf),
}

#[derive(Default)]
pub struct Stage {
    files: Vec<Staged>,
    created_dirs: Vec<PathBuf>,
    committed: bool,
}

impl Stage {
    /// Stages `bytes` for `dest`, which is written where it leads as every output is
    /// (`fsio::Destination`): a symlink is followed to the file it names (the link is kept), a
    /// device or FIFO is written in place on commit, a directory or a socket is refused.
    pub fn add(&mut self, dest: &Path, bytes: &[u8]) -> Result<()> {
        self.mkdirs(dest.parent().expect("outputs have a directory"))?;
        let fail = |source| Error::Write {
            path: dest.to_path_buf(),
            source,
        };
        match crate::fsio::Destination::of(dest, false).map_err(fail)? {
            crate::fsio::Destination::Replace(target) => {
                let tmp = write_temp(&target, bytes)?;
                self.files.push(Staged::Temp(tmp, target));
            }
            crate::fsio::Destination::InPlace(target) => {
                self.files.push(Staged::InPlace(bytes.to_vec(), target));
            }
            crate::fsio::Destination::Stdout => unreachable!("`-` is a file name here"),
        }
        Ok(())
    }

    /// Stages several files, committed in the order given.
    pub fn add_all(&mut self, files: &[(PathBuf, &[u8])]) -> Result<()> {
        for (dest, bytes) in files {
            self.add(dest, bytes)?;
        }
        Ok(())
    }

    fn mkdirs(&mut self, dir: &Path) -> Result<()> {
        let mut missing = Vec::new();
        let mut d = dir;
        while !d.exists() {
            missing.push(d.to_path_buf());
            match d.parent() {
                Some(p) if !p.as_os_str().is_empty() => d = p,
                _ => break,
            }
        }
        for m in missing.into_iter().rev() {
            std::fs::create_dir(&m).map_err(|source| Error::Write {
                path: m.clone(),
                source,
            })?;
            crate::interrupt::created_dir(&m);
            self.created_dirs.push(m);
        }
        Ok(())
    }

    /// Renames every staged file into place, in the order staged.
    pub fn commit(mut self) -> Result<()> {
        for staged in std::mem::take(&mut self.files) {
            match staged {
                Staged::Temp(tmp, dest) => {
                    tmp.persist(&dest).map_err(|e| Error::Write {
                        path: dest.clone(),
                        source: e.error,
                    })?;
                }
                Staged::InPlace(bytes, dest) => {
                    std::fs::OpenOptions::new()
                        .write(true)
                        .open(&dest)
                        .and_then(|mut f| std::io::Write::write_all(&mut f, &bytes))
                        .map_err(|source| Error::Write {
                            path: dest.clone(),
                            source,
                        })?;
                }
            }
        }
        self.committed = true;
        Ok(())
    }
}

/// `bytes` in a temporary file beside `dest` (whose directory exists).
fn write_temp(dest: &Path, bytes: &[u8]) -> Result<tempfile::NamedTempFile> {
    let fail = |source| Error::Write {
        path: dest.to_path_buf(),
        source,
    };
    let dir = dest.parent().expect("outputs have a directory");
    let mut tmp = crate::fsio::temp_in(dir).map_err(fail)?;
    crate::fsio::write_all(tmp.as_file_mut(), bytes).map_err(fail)?;
    Ok(tmp)
}

impl Drop for Stage {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        self.files.clear(); // deletes the temporary files
        for dir in self.created_dirs.iter().rev() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

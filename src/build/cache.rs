//! wasipack's build cache: everything a build keeps between runs, in [`cache_dir`]. Any of it
//! may be deleted at any time; any doubt rebuilds.
//!
//! - **Compile outputs**, `obj/KEY/NAME.wasm` ([`compile_output`]): a stable path per project,
//!   module and settings, so that `go build` finds its previous output up to date and skips the
//!   link, as it does for `go build -o` by hand.
//! - **Saved `go list` output** beside each compile output ([`saved_listing`]), where `go list`
//!   had to run (the module's build info was not complete), reused while the Go build ID it
//!   was saved with is the compiled module's (the ID hashes every input of the link, so the
//!   package graph is unchanged).
//! - **Stamps**, `stamps/KEY.json` ([`Stamp`]): up-to-date builds. After a build, wasipack
//!   records what made each module (a fingerprint) and the size and modification time of every
//!   file it wrote. When the next build of the same output directory compiles to the same thing
//!   from the same settings, and no output was touched since, the previous outputs are the
//!   answer and nothing is packaged or written again, as `go build` skips a link that is up to
//!   date. Any doubt rebuilds: a missing or unreadable stamp, a changed file, a module without a
//!   Go build ID (TinyGo).

use super::{BuildReport, Plan};
use crate::digest::sha256_hex;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What the last build into one output directory made.
#[derive(Debug, Serialize, Deserialize)]
pub struct Stamp {
    /// Each module's fingerprint, by module name.
    pub fingerprints: BTreeMap<String, String>,
    /// Each Go module's build ID and the toolchain that made it, by module name.
    pub toolchains: BTreeMap<String, Toolchain>,
    /// Every output file: path, size, modification time (ns since the epoch).
    files: Vec<(PathBuf, u64, u128)>,
    pub report: BuildReport,
}

/// A Go build ID and the toolchain behind it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Toolchain {
    pub build_id: String,
    /// `go env GOVERSION`.
    pub go_version: String,
    /// The version as reports show it.
    pub shown: String,
}

/// wasipack's cache directory: `$WASIPACK_CACHE`, else `$XDG_CACHE_HOME/wasipack`, else
/// `~/.cache/wasipack`. Any of it may be deleted at any time.
pub fn cache_dir() -> Option<PathBuf> {
    std::env::var_os("WASIPACK_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|c| PathBuf::from(c).join("wasipack")))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/wasipack")))
}

fn path_for(cache: &Path, output: &Path) -> Option<PathBuf> {
    let output = output.canonicalize().ok()?;
    let key = sha256_hex(output.as_os_str().as_encoded_bytes());
    Some(cache.join("stamps").join(format!("{}.json", &key[..32])))
}

/// A file's size and modification time (ns since the epoch).
fn size_and_mtime(path: &Path) -> Option<(u64, u128)> {
    let meta = std::fs::metadata(path).ok()?;
    let time = meta.modified().ok()?;
    Some((
        meta.len(),
        time.duration_since(std::time::UNIX_EPOCH).ok()?.as_nanos(),
    ))
}

/// The stamp of `output`, if there is one and every file it lists is as the build left it.
pub fn read(output: &Path) -> Option<Stamp> {
    read_in(&cache_dir()?, output)
}

fn read_in(cache: &Path, output: &Path) -> Option<Stamp> {
    let bytes =
        crate::fsio::read_bounded(&path_for(cache, output)?, crate::fsio::TEXT_LIMIT).ok()?;
    let stamp: Stamp = serde_json::from_slice(&bytes).ok()?;
    let intact = stamp
        .files
        .iter()
        .all(|(path, size, time)| size_and_mtime(path) == Some((*size, *time)));
    intact.then_some(stamp)
}

/// Records what was just written into `output`. A cache: failing to write it only costs the
/// next build its packaging.
pub fn write(
    output: &Path,
    fingerprints: BTreeMap<String, String>,
    toolchains: BTreeMap<String, Toolchain>,
    files: &[PathBuf],
    report: &BuildReport,
) {
    if let Some(cache) = cache_dir() {
        write_in(&cache, output, fingerprints, toolchains, files, report);
    }
}

fn write_in(
    cache: &Path,
    output: &Path,
    fingerprints: BTreeMap<String, String>,
    toolchains: BTreeMap<String, Toolchain>,
    files: &[PathBuf],
    report: &BuildReport,
) {
    let Some(path) = path_for(cache, output) else {
        return;
    };
    let mut listed = Vec::new();
    for file in files {
        let Some((size, time)) = size_and_mtime(file) else {
            return;
        };
        listed.push((file.clone(), size, time));
    }
    let stamp = Stamp {
        fingerprints,
        toolchains,
        files: listed,
        report: report.clone(),
    };
    let Ok(bytes) = serde_json::to_vec(&stamp) else {
        return;
    };
    if std::fs::create_dir_all(crate::fsio::parent_dir(&path)).is_ok() {
        let _ = crate::fsio::write_atomic(&path, &bytes);
    }
}

/// Where the compiler writes: `obj/KEY/NAME.wasm` in the cache (see the module's header), the
/// key naming the project, module and settings. We only read that file. Falls back to a fresh
/// temporary directory, returned to be held while the file is used, when there is no usable
/// cache or `use_cache` is false.
pub(super) fn compile_output(
    plan: &Plan,
    dir: &Path,
    use_cache: bool,
) -> Result<(PathBuf, Option<tempfile::TempDir>)> {
    let name = format!("{}.wasm", plan.name);
    if let (Some(cache), Ok(dir), true) = (cache_dir(), dir.canonicalize(), use_cache) {
        // Not the toolchain's version: Go relinks when it changes (the build ID differs).
        let key = format!(
            "{}\0{}\0{}\0{:?}\0{:?}\0{:?}\0{:?}\0{:?}",
            dir.display(),
            plan.package,
            plan.name,
            plan.toolchain,
            plan.target,
            plan.mode,
            plan.settings.tags,
            plan.settings.ldflags,
        );
        let obj = cache.join("obj").join(&sha256_hex(key.as_bytes())[..32]);
        if std::fs::create_dir_all(&obj).is_ok() {
            return Ok((obj.join(name), None));
        }
    }
    let tmp = tempfile::tempdir().map_err(|source| Error::Write {
        path: std::env::temp_dir(),
        source,
    })?;
    Ok((tmp.path().join(name), Some(tmp)))
}

/// The saved `go list` output beside a cached compile output, and the build ID it belongs to.
const LISTING: &str = "go-list.json";
const LISTING_ID: &str = "go-list.buildid";

/// The `go list` output saved beside `out`, if it was saved for build ID `id`.
pub(super) fn saved_listing(out: &Path, id: Option<&str>) -> Option<Vec<u8>> {
    let id = id?;
    let saved =
        crate::fsio::read_text_bounded(&out.with_file_name(LISTING_ID), crate::fsio::TEXT_LIMIT)
            .ok()?;
    (saved == id)
        .then(|| {
            crate::fsio::read_bounded(&out.with_file_name(LISTING), crate::fsio::DOCUMENT_LIMIT)
                .ok()
        })
        .flatten()
}

/// Saves `listed`, the `go list` output for the module compiled to `out` with build ID `id`.
pub(super) fn save_listing(out: &Path, id: &str, listed: &[u8]) {
    // A cache: failing to save only costs the next build a `go list`.
    let _ = crate::fsio::write_atomic(&out.with_file_name(LISTING), listed);
    let _ = crate::fsio::write_atomic(&out.with_file_name(LISTING_ID), id.as_bytes());
}

/// Everything that decides a module's outputs, hashed: this wasipack (its version and its
/// executable), the compiled module's Go build ID (which hashes every input of the link), the
/// resolved settings and policy, the module list's source (the build info text, or the `go list`
/// output and go.sum: the SBOM), the toolchain's
/// version, and the creation time and git annotations. `None` without a build ID.
pub fn fingerprint(
    plan: &Plan,
    build_id: Option<&str>,
    listed: &[u8],
    go_sum: Option<&[u8]>,
    versions: &[&str],
    created: &str,
    git: &BTreeMap<String, String>,
) -> Option<String> {
    let exe = size_and_mtime(&std::env::current_exe().ok()?)?;
    // The plan by what it was resolved from: its settings, the policy as it serializes (every
    // rule's value), and the strip patterns.
    let strip = &plan.strip;
    let globs = |g: &crate::policy::Globs| g.patterns().collect::<Vec<_>>().join("\n");
    let text = format!(
        "{}\0{:?}\0{}\0{:?}\0{}\0{}\0{}\0{}\0{}\0{}\0{:?}\0{versions:?}\0{created}\0{git:?}",
        env!("CARGO_PKG_VERSION"),
        exe,
        build_id?,
        (
            &plan.name,
            &plan.package,
            &plan.settings,
            plan.toolchain,
            plan.target,
            plan.mode,
            &plan.tag
        ),
        serde_json::to_string(&plan.policy).ok()?,
        globs(&strip.keep),
        globs(&strip.delete),
        strip.all,
        strip.stamp,
        sha256_hex(listed),
        go_sum.map(sha256_hex),
    );
    Some(sha256_hex(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_touched_or_missing_output_voids_the_stamp() {
        let cache = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        let file = out.path().join("m.wasm");
        std::fs::write(&file, b"one").unwrap();
        let report = BuildReport {
            output: out.path().display().to_string(),
            modules: Vec::new(),
            checks: Vec::new(),
            outside_project: None,
        };
        let prints = BTreeMap::from([("m".to_string(), "f".to_string())]);
        let (c, o) = (cache.path(), out.path());
        write_in(
            c,
            o,
            prints.clone(),
            BTreeMap::new(),
            std::slice::from_ref(&file),
            &report,
        );
        assert_eq!(read_in(c, o).unwrap().fingerprints, prints);

        // Same size, rewritten later.
        std::fs::write(&file, b"two").unwrap();
        let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
        std::fs::File::options()
            .write(true)
            .open(&file)
            .unwrap()
            .set_modified(later)
            .unwrap();
        assert!(read_in(c, o).is_none());

        write_in(
            c,
            o,
            prints,
            BTreeMap::new(),
            std::slice::from_ref(&file),
            &report,
        );
        assert!(read_in(c, o).is_some());
        std::fs::remove_file(&file).unwrap();
        assert!(read_in(c, o).is_none());
    }
}

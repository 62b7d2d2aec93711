//! `--verify-reproducible`: each module built again in two fresh copies of its Go module, and
//! compared with the first build byte for byte, naming the first section that differs.

use super::compile::{self, Job};
use super::toolchain::{self, CommandLine};
use super::{BuildError, Built, Observer, Options, Plan};
use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Builds the module again in two fresh copies of its Go module and fails on any difference,
/// naming the first section that differs.
pub(super) fn verify_reproducible(
    plan: &Plan,
    first: &Built,
    opts: &Options,
    meta: &(String, BTreeMap<String, String>),
    observer: &dyn Observer,
) -> Result<()> {
    let line = CommandLine {
        program: opts.go.clone(),
        args: vec!["env".into(), "GOMOD".into()],
        env: vec![],
    };
    let gomod = toolchain::output(&line, &opts.dir)?;
    let gomod = PathBuf::from(String::from_utf8_lossy(&gomod).trim());
    let root = gomod
        .parent()
        .filter(|_| gomod.is_file())
        .ok_or(BuildError::NoGoModule)?
        .to_path_buf();
    let rel = opts
        .dir
        .canonicalize()
        .ok()
        .and_then(|d| {
            d.strip_prefix(root.canonicalize().ok()?)
                .ok()
                .map(Path::to_path_buf)
        })
        .unwrap_or_default();
    let output = opts.output.canonicalize().ok();
    let mut builds = Vec::new();
    for _ in 0..2 {
        let copy = tempfile::tempdir().map_err(|source| Error::Write {
            path: std::env::temp_dir(),
            source,
        })?;
        copy_tree(&root, copy.path(), output.as_deref())?;
        let dir = copy.path().join(&rel);
        // Not cached: the copies live in throwaway directories.
        let same = Ok(meta.clone());
        let job = Job {
            opts,
            dir: &dir,
            meta: &same,
            use_cache: false,
            stamp: None,
            observer,
        };
        let built = compile::build_one(plan, &job)?.into_built(plan)?;
        builds.push((built, copy));
    }
    for (other, _) in &builds {
        if other.wasm != first.wasm {
            let section = differing_section(&first.wasm, &other.wasm);
            return Err(BuildError::NotReproducible {
                module: plan.name.clone(),
                section,
            }
            .into());
        }
        if other.artifact.descriptor.digest != first.artifact.descriptor.digest {
            return Err(BuildError::ManifestNotReproducible {
                module: plan.name.clone(),
            }
            .into());
        }
    }
    Ok(())
}

/// The first section (by kind or custom name) whose bytes differ.
pub fn differing_section(a: &[u8], b: &[u8]) -> String {
    let sections = |bytes: &[u8]| -> Vec<(String, Vec<u8>)> {
        wasmparser::Parser::new(0)
            .parse_all(bytes)
            .filter_map(|p| p.ok())
            .filter_map(|p| {
                let (id, range) = p.as_section()?;
                let name = match &p {
                    wasmparser::Payload::CustomSection(r) => {
                        format!("custom section `{}`", r.name())
                    }
                    _ => format!(
                        "the {} section",
                        crate::wasm::inspect::section_kind(id, false)
                    ),
                };
                Some((
                    name,
                    bytes[range.start as usize..range.end as usize].to_vec(),
                ))
            })
            .collect()
    };
    let (sa, sb) = (sections(a), sections(b));
    // Go's build ID hashes every input, so it differs whenever anything does: name it only
    // when nothing else differs.
    let differing: Vec<String> = sa
        .iter()
        .zip(&sb)
        .filter(|(x, y)| x != y)
        .map(|(x, y)| {
            if x.0 == y.0 {
                x.0.clone()
            } else {
                format!("{} vs {}", x.0, y.0)
            }
        })
        .collect();
    if let Some(first) = differing
        .iter()
        .find(|d| !d.contains("go:buildid"))
        .or(differing.first())
    {
        return first.clone();
    }
    if sa.len() != sb.len() {
        // The first section only one of them has.
        let (longer, shorter) = if sa.len() > sb.len() {
            (&sa, &sb)
        } else {
            (&sb, &sa)
        };
        return format!("{} (in one only)", longer[shorter.len()].0);
    }
    "its header".into()
}

fn copy_tree(from: &Path, to: &Path, skip: Option<&Path>) -> Result<()> {
    let read = |path: &Path, source| Error::Read {
        path: path.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(from).map_err(|e| read(from, e))? {
        let entry = entry.map_err(|e| read(from, e))?;
        let path = entry.path();
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.')
            || skip.is_some_and(|s| path.canonicalize().ok().as_deref() == Some(s))
        {
            continue;
        }
        let dest = to.join(&name);
        let kind = entry.file_type().map_err(|e| read(&path, e))?;
        if kind.is_dir() {
            std::fs::create_dir(&dest).map_err(|source| Error::Write {
                path: dest.clone(),
                source,
            })?;
            copy_tree(&path, &dest, skip)?;
        } else if kind.is_file() {
            std::fs::copy(&path, &dest).map_err(|source| Error::Write {
                path: dest.clone(),
                source,
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_differing_section_is_named_past_the_build_id() {
        let a =
            wat::parse_str(r#"(module (@custom "go:buildid" "a") (memory 1) (@custom "x" "1"))"#)
                .unwrap();
        let b =
            wat::parse_str(r#"(module (@custom "go:buildid" "b") (memory 1) (@custom "x" "2"))"#)
                .unwrap();
        assert_eq!(differing_section(&a, &b), "custom section `x`");
        let c =
            wat::parse_str(r#"(module (@custom "go:buildid" "c") (memory 1) (@custom "x" "1"))"#)
                .unwrap();
        assert_eq!(differing_section(&a, &c), "custom section `go:buildid`");
        let d =
            wat::parse_str(r#"(module (@custom "go:buildid" "a") (memory 2) (@custom "x" "1"))"#)
                .unwrap();
        assert_eq!(differing_section(&a, &d), "the memory section");
        let mut e = a.clone();
        e.extend_from_slice(&[0, 6, 5, b'e', b'x', b't', b'r', b'a']);
        assert_eq!(
            differing_section(&a, &e),
            "custom section `extra` (in one only)"
        );
    }
}

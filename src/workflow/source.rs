//! What a push sends: the artifacts a source names (a `.wasm` file packaged on the fly as
//! `build` packages it, a `build` output directory, or an OCI layout), each with everything
//! that refers to it, and what the signing step needs to know about them (their SBOM, how they
//! were built).

use crate::error::{Error, Result};
use crate::oci::artifact::{self, wasm_artifact, wasm_spec, Artifact, Blob, Descriptor};
use crate::oci::layout::{Layout, REF_NAME};
use crate::oci::reference::Target;
use crate::oci::store::{self, Store};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

/// One artifact to push with what refers to it.
#[derive(Debug, Clone)]
pub struct Item {
    pub artifact: Artifact,
    /// The tag it had where it came from.
    pub source_tag: Option<String>,
    /// Manifests whose `subject` is this artifact (SBOMs, attestations), recursively.
    pub referrers: Vec<Artifact>,
    /// Manifests kept under cosign's `sha256-HEX.sig`/`.att` tags: (tag, manifest).
    pub sidecars: Vec<(String, Artifact)>,
    /// The module's entry in the `build` report beside the layout, when there is one.
    pub build: Option<serde_json::Value>,
    /// The layout whose blob digests are still to be checked ([`Check::WhileUploading`]).
    pub unchecked: Option<Layout>,
    /// An entry of the image index that follows it in the list (a multi-target build): pushed
    /// by digest only, before the index is tagged.
    pub entry_of_index: bool,
}

impl Item {
    /// Every blob to store with the artifact: its own, its referrers' and its cosign tags'.
    pub fn blobs(&self) -> impl Iterator<Item = &(Descriptor, Blob)> {
        self.artifact.blobs.iter().chain(
            self.referrers
                .iter()
                .chain(self.sidecars.iter().map(|(_, a)| a))
                .flat_map(|a| a.blobs.iter()),
        )
    }

    /// The wasm layer and its bytes.
    pub fn wasm_layer(&self) -> Option<&(Descriptor, Blob)> {
        self.artifact
            .blobs
            .iter()
            .find(|(d, _)| artifact::WASM_LAYERS.contains(&d.media_type.as_str()))
    }

    /// The module bytes (the wasm layer).
    pub fn module(&self) -> Option<&Blob> {
        self.wasm_layer().map(|(_, b)| b)
    }

    /// The SBOM to attest, as (predicate type, document): the referrer of that media type
    /// (a `build` output has both), else one made from the Go build info in the module.
    pub fn sbom(&self, cyclonedx: bool) -> Result<Option<(String, serde_json::Value)>> {
        let (media_type, predicate_type) = if cyclonedx {
            (
                artifact::CYCLONEDX,
                crate::sign::payload::CYCLONEDX_PREDICATE,
            )
        } else {
            (artifact::SPDX, crate::sign::payload::SPDX_PREDICATE)
        };
        for r in &self.referrers {
            if r.descriptor.artifact_type.as_deref() == Some(media_type) {
                if let Some((_, doc)) = r.blobs.iter().find(|(d, _)| d.media_type == media_type) {
                    let doc = serde_json::from_slice(doc).map_err(|e| {
                        Error::Input(format!("the {media_type} referrer is not JSON: {e}"))
                    })?;
                    return Ok(Some((predicate_type.into(), doc)));
                }
            }
        }
        let Some((layer, bytes)) = self.wasm_layer() else {
            return Ok(None);
        };
        let title = layer
            .annotations
            .get(artifact::TITLE)
            .cloned()
            .unwrap_or_else(|| "module.wasm".into());
        // Not parsed: the build info is found by its sentinels and the Go version in the
        // producers section, so a large module costs milliseconds, not a parse.
        let Some(info) = crate::wasm::modinfo::find(bytes, 0) else {
            return Ok(None);
        };
        let sha256 = layer.hex();
        let toolchain = crate::wasm::inspect::toolchain_quick(bytes);
        let created = crate::sbom::created_now_or_epoch()?;
        let sbom = crate::sbom::Sbom::from_build_info(
            &info,
            &title,
            sha256,
            toolchain.version.clone(),
            created,
        );
        let doc = if cyclonedx {
            sbom.cyclonedx()
        } else {
            sbom.spdx()
        };
        Ok(Some((
            predicate_type.into(),
            serde_json::to_value(doc).expect("SBOM serializes"),
        )))
    }

    /// What the provenance says about how the module was built.
    pub fn build_facts(&self) -> crate::sign::provenance::BuildFacts {
        let annotations: BTreeMap<String, String> =
            crate::oci::model::parse_manifest(&self.artifact.manifest)
                .map(|m| crate::oci::model::sorted(m.annotations()))
                .unwrap_or_default();
        match &self.build {
            Some(module) => crate::sign::provenance::BuildFacts::from_report(module, &annotations),
            None => {
                // A bare module: what its producers section says built it.
                let mut facts = crate::sign::provenance::BuildFacts::from_annotations(&annotations);
                if let Some(bytes) = self.module() {
                    let t = crate::wasm::inspect::toolchain_quick(bytes);
                    facts.toolchain = t.name;
                    facts.toolchain_version = t.version.unwrap_or_default();
                }
                facts
            }
        }
    }
}

/// When the blobs of a layout source are digest-checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// As they load: nothing is sent or written before all have passed.
    Now,
    /// Later, with [`check_blobs`], while they upload: their size is checked as they load. A
    /// registry refuses a blob whose bytes do not match the digest it is sent under, so a
    /// corrupt blob is never stored, and the caller checks before any manifest is tagged.
    WhileUploading,
}

/// Loads what a push source names: a `.wasm` file, a `build` output directory (its `oci/`
/// layout), or `oci-layout:PATH[:TAG]`.
pub fn load_source(source: &str, project_dir: &Path, check: Check) -> Result<Vec<Item>> {
    if let Some(rest) = source.strip_prefix("oci-layout:") {
        let target = Target::parse(&format!("oci-layout:{rest}"))?;
        let Target::Layout { path, tag, digest } = target else {
            unreachable!("oci-layout: parses as a layout")
        };
        return from_layout(&path, tag.as_deref().or(digest.as_deref()), check);
    }
    let path = Path::new(source);
    if path.is_dir() {
        for root in [path.join("oci"), path.to_path_buf()] {
            if root.join("oci-layout").is_file() {
                return from_layout(&root, None, check);
            }
        }
        return Err(Error::Input(format!(
            "{source}: neither a build output directory (with oci/) nor an OCI image layout"
        )));
    }
    Ok(vec![from_module(path, project_dir)?])
}

/// Packages a bare module with the same code `build` uses.
fn from_module(path: &Path, project_dir: &Path) -> Result<Item> {
    let file = path.display().to_string();
    let input = crate::fsio::read_input(path)?;
    let bytes = &input[..];
    let wasm_error = |message: &str| Error::Wasm {
        file: file.clone(),
        error: crate::wasm::WasmError {
            message: message.into(),
            offset: 0,
        },
    };
    // The preamble says module or component. A core module's artifact needs nothing more
    // from it, so its sections are only walked (framing and sizes, `wasm::framing`), not
    // inspected: validation is `check`'s job, and a push should cost little more than its
    // upload (bench/push.sh). A component is inspected for its world.
    let component = match bytes.get(..8) {
        Some([0, b'a', b's', b'm', 1, 0, 0, 0]) => false,
        Some([0, b'a', b's', b'm', _, _, 1, 0]) => true,
        Some([0, b'a', b's', b'm', ..]) => return Err(wasm_error("unknown binary version")),
        _ => {
            return Err(wasm_error(
                "not a wasm module: the file does not start with \\0asm",
            ))
        }
    };
    let module = if component {
        crate::wasm::inspect::parse(
            bytes,
            crate::wasm::features::FeatureSet::all().to_wasmparser(),
        )
        .map(|p| Some(p.inspection))
    } else {
        crate::wasm::framing(bytes).map(|()| None)
    };
    let module = module.map_err(|error| Error::Wasm {
        file: file.clone(),
        error,
    })?;
    let sha256 = crate::digest::sha256_hex(bytes);
    let git = crate::build::created_and_annotations(project_dir);
    let (created, annotations) = git?;
    let title = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "module.wasm".into());
    let spec = wasm_spec(&title, component, module.as_ref(), &created, annotations);
    Ok(Item {
        artifact: wasm_artifact(&input.into_bytes(), &sha256, &spec),
        source_tag: None,
        referrers: Vec::new(),
        sidecars: Vec::new(),
        build: None,
        unchecked: None,
        entry_of_index: false,
    })
}

/// The artifacts in a layout: the one `selector` (a tag or digest) names, or every tagged one
/// that is not a cosign sidecar.
fn from_layout(root: &Path, selector: Option<&str>, check: Check) -> Result<Vec<Item>> {
    let layout = Layout {
        root: root.to_path_buf(),
    };
    let entries = layout.entries()?;
    let store = Store::Layout(layout.clone());
    let tag_of = |d: &Descriptor| d.annotations.get(REF_NAME).cloned();
    let roots: Vec<&Descriptor> = match selector {
        Some(s) if s.starts_with("sha256:") => {
            entries.iter().filter(|d| d.digest == s).take(1).collect()
        }
        Some(s) => entries
            .iter()
            .filter(|d| tag_of(d).as_deref() == Some(s))
            .collect(),
        None => entries
            .iter()
            .filter(|d| tag_of(d).is_some_and(|t| !is_sidecar_tag(&t)))
            .collect(),
    };
    if roots.is_empty() {
        return Err(Error::Input(match selector {
            Some(s) => format!("{}: no artifact `{s}` in this layout", root.display()),
            None => format!("{}: the layout has no tagged artifact", root.display()),
        }));
    }
    // Read once for every root: what refers to what, and the cosign tags by artifact (the
    // `sha256-HEX` before the first dot of `sha256-HEX.sig`).
    let by_subject = crate::oci::layout::referrers_by_subject(root, &entries);
    let mut sidecars_of: HashMap<&str, Vec<(String, &Descriptor)>> = HashMap::new();
    for e in &entries {
        if let Some(tag) = e.annotations.get(REF_NAME) {
            if let Some((prefix, _)) = tag.split_once('.') {
                sidecars_of
                    .entry(prefix)
                    .or_default()
                    .push((tag.clone(), e));
            }
        }
    }
    let load = |d: &Descriptor, entry_of_index: bool| -> Result<Item> {
        let artifact = store.load_artifact(d, check == Check::Now)?;
        let mut referrers = Vec::new();
        // A manifest listed twice is sent once.
        let mut seen = HashSet::new();
        let mut pending = vec![d.digest.clone()];
        while let Some(subject) = pending.pop() {
            for r in by_subject.get(&subject).into_iter().flatten() {
                if !seen.insert(r.digest.as_str()) {
                    continue;
                }
                pending.push(r.digest.clone());
                referrers.push(store.load_artifact(r, check == Check::Now)?);
            }
        }
        let prefix = store::fallback_tag(&d.digest);
        let mut sidecars = Vec::new();
        for (tag, e) in sidecars_of.get(prefix.as_str()).into_iter().flatten() {
            sidecars.push((tag.clone(), store.load_artifact(e, check == Check::Now)?));
        }
        let build = build_entry(root, &artifact);
        Ok(Item {
            artifact,
            source_tag: if entry_of_index { None } else { tag_of(d) },
            referrers,
            sidecars,
            build,
            unchecked: (check == Check::WhileUploading).then(|| layout.clone()),
            entry_of_index,
        })
    };
    let mut items = Vec::new();
    for d in roots {
        if d.media_type != artifact::INDEX {
            items.push(load(d, false)?);
            continue;
        }
        // A multi-target build's index: each entry with what refers to it, then the index.
        let bytes = layout.manifest_bytes(&d.digest)?.ok_or_else(|| {
            Error::Input(format!("manifest {} is listed but not stored", d.digest))
        })?;
        if bytes.len() as u64 != d.size || crate::digest::sha256_digest(&bytes) != d.digest {
            return Err(Error::Integrity(format!(
                "image index {} does not match its digest or size",
                d.digest
            )));
        }
        let entries = crate::oci::model::parse_index(&bytes)
            .and_then(|i| crate::oci::model::entries(&i))
            .map_err(|e| Error::Input(format!("image index {}: {e}", d.digest)))?;
        for e in &entries {
            items.push(load(e, true)?);
        }
        let mut descriptor = d.clone();
        descriptor.annotations.remove(REF_NAME);
        items.push(Item {
            artifact: Artifact {
                manifest: bytes,
                descriptor,
                blobs: Vec::new(),
            },
            source_tag: tag_of(d),
            referrers: Vec::new(),
            sidecars: Vec::new(),
            build: None,
            unchecked: None,
            entry_of_index: false,
        });
    }
    Ok(items)
}

/// Checks the digest of every blob of the `items` loaded unchecked (see
/// [`Check::WhileUploading`]), on all cores.
pub fn check_blobs(items: &[Item]) -> Result<()> {
    use rayon::prelude::*;
    let mut seen = std::collections::BTreeSet::new();
    let blobs: Vec<(&Layout, &(Descriptor, Blob))> = items
        .iter()
        .filter_map(|i| Some((i.unchecked.as_ref()?, i)))
        .flat_map(|(layout, i)| i.blobs().map(move |b| (layout, b)))
        .filter(|(_, (d, _))| seen.insert(d.digest.clone()))
        .collect();
    blobs
        .par_iter()
        .try_for_each(|(layout, (d, bytes))| layout.check_digest(d, bytes))
}

/// The module's entry in `report.json` beside a `build` output's layout (`dist/oci`), matched
/// by the wasm layer's digest.
fn build_entry(root: &Path, artifact: &Artifact) -> Option<serde_json::Value> {
    let report: serde_json::Value = serde_json::from_slice(
        &crate::fsio::read_bounded(
            &root.parent()?.join("report.json"),
            crate::fsio::DOCUMENT_LIMIT,
        )
        .ok()?,
    )
    .ok()?;
    let layer = artifact
        .blobs
        .iter()
        .find(|(d, _)| d.media_type == artifact::WASM_LAYER)?;
    report["modules"]
        .as_array()?
        .iter()
        .find(|m| m["sha256"] == layer.0.hex())
        .cloned()
}

/// cosign's tags: `sha256-HEX.sig`, `.att`, `.sbom`, and the referrers fallback `sha256-HEX`.
fn is_sidecar_tag(tag: &str) -> bool {
    tag.strip_prefix("sha256-")
        .map(|rest| rest.split('.').next().unwrap_or_default())
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sidecar_tags_are_recognised() {
        let hex = "a".repeat(64);
        assert!(is_sidecar_tag(&format!("sha256-{hex}.sig")));
        assert!(is_sidecar_tag(&format!("sha256-{hex}")));
        assert!(!is_sidecar_tag("sha256-abc.sig"));
        assert!(!is_sidecar_tag("latest"));
    }
}

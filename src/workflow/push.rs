//! Push: an artifact and everything that refers to it, from a layout (a `build` output) or a
//! bare module packaged on the fly, to a registry or another layout. Blobs go first, then the
//! manifest under its tags, then its referrers: a tag never points at a manifest whose blobs
//! are missing.

use crate::error::{Error, Result};
use crate::oci::artifact::{self, wasm_artifact, wasm_spec, Artifact, Blob, Descriptor};
use crate::oci::layout::{Layout, REF_NAME};
use crate::oci::reference::{self, Target};
use crate::oci::remote::BlobOutcome;
use crate::oci::store::{self, Indexed, Store};
use serde::Serialize;
use std::collections::BTreeMap;
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
    fn wasm_layer(&self) -> Option<&(Descriptor, Blob)> {
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
                        Error::Usage(format!("the {media_type} referrer is not JSON: {e}"))
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
        return Err(Error::Usage(format!(
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
    // git runs while the module is hashed (or parsed).
    let (module, sha256, git) = std::thread::scope(|s| {
        let git = s.spawn(|| crate::build::created_and_annotations(project_dir));
        let module = component.then(|| {
            crate::wasm::inspect::parse(
                bytes,
                crate::wasm::features::FeatureSet::all().to_wasmparser(),
            )
            .map(|p| Some(p.inspection))
        });
        let (sha256, framing) = rayon::join(|| input.sha256_hex(), || crate::wasm::framing(bytes));
        (
            module.unwrap_or(framing.map(|()| None)),
            sha256,
            git.join().expect("git thread"),
        )
    });
    let module = module.map_err(|error| Error::Wasm {
        file: file.clone(),
        error,
    })?;
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
        return Err(Error::Usage(match selector {
            Some(s) => format!("{}: no artifact `{s}` in this layout", root.display()),
            None => format!("{}: the layout has no tagged artifact", root.display()),
        }));
    }
    roots
        .into_iter()
        .map(|d| {
            let artifact = store.load_artifact(d, check == Check::Now)?;
            let mut referrers = Vec::new();
            let mut pending = vec![d.digest.clone()];
            while let Some(subject) = pending.pop() {
                for r in store.referrers(&subject)? {
                    pending.push(r.digest.clone());
                    referrers.push(store.load_artifact(&r, check == Check::Now)?);
                }
            }
            let prefix = store::fallback_tag(&d.digest);
            let mut sidecars = Vec::new();
            for e in &entries {
                if let Some(tag) = tag_of(e).filter(|t| t.starts_with(&format!("{prefix}."))) {
                    sidecars.push((tag, store.load_artifact(e, check == Check::Now)?));
                }
            }
            let build = build_entry(root, &artifact);
            Ok(Item {
                artifact,
                source_tag: tag_of(d),
                referrers,
                sidecars,
                build,
                unchecked: (check == Check::WhileUploading).then(|| layout.clone()),
            })
        })
        .collect()
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
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.parent()?.join("report.json")).ok()?).ok()?;
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

#[derive(Debug, Clone, Serialize)]
pub struct BlobReport {
    pub digest: String,
    pub size: u64,
    pub outcome: BlobOutcome,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReferrerReport {
    pub digest: String,
    pub artifact_type: Option<String>,
    pub indexed: Option<Indexed>,
}

/// What one push did, for the human and `--json` output.
#[derive(Debug, Clone, Serialize)]
pub struct PushReport {
    /// `REGISTRY/REPO@sha256:...` or `oci-layout:PATH@sha256:...`.
    pub reference: String,
    pub digest: String,
    pub tags: Vec<String>,
    pub blobs: Vec<BlobReport>,
    pub referrers: Vec<ReferrerReport>,
    pub sidecars: Vec<String>,
    pub bytes_uploaded: u64,
    /// Signatures and attestations made by `push --key`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub signed: Vec<crate::sign::Signed>,
}

/// Pushes `item` to `target` under `tags` (none: by digest only).
pub fn push(store: &Store, target: &Target, item: &Item, tags: &[String]) -> Result<PushReport> {
    push_gated(store, target, item, tags, &mut || Ok(()))
}

/// [`push`], calling `gate` after the blobs are stored and before any manifest is: a failing
/// gate (a signing key that does not open, say) leaves nothing tagged.
pub fn push_gated(
    store: &Store,
    target: &Target,
    item: &Item,
    tags: &[String],
    gate: &mut dyn FnMut() -> Result<()>,
) -> Result<PushReport> {
    let all_blobs: Vec<(Descriptor, Blob)> = item.blobs().cloned().collect();
    let sizes: BTreeMap<String, u64> = all_blobs
        .iter()
        .map(|(d, _)| (d.digest.clone(), d.size))
        .collect();
    let outcomes = store.put_blobs(&all_blobs)?;
    let blobs: Vec<BlobReport> = outcomes
        .into_iter()
        .map(|(digest, outcome)| BlobReport {
            size: sizes[&digest],
            digest,
            outcome,
        })
        .collect();
    gate()?;
    if tags.is_empty() {
        store.put_manifest(&item.artifact, None)?;
    }
    for tag in tags {
        store.put_manifest(&item.artifact, Some(tag))?;
    }
    let mut referrers = Vec::new();
    for r in &item.referrers {
        let indexed = store.put_manifest(r, None)?;
        referrers.push(ReferrerReport {
            digest: r.descriptor.digest.clone(),
            artifact_type: r.descriptor.artifact_type.clone(),
            indexed,
        });
    }
    let mut sidecars = Vec::new();
    // Signatures and attestations join those already there instead of replacing them.
    for (tag, a) in &item.sidecars {
        crate::sign::merge_sidecar(store, tag, a)?;
        sidecars.push(tag.clone());
    }
    let bytes_uploaded = blobs
        .iter()
        .filter(|b| b.outcome == BlobOutcome::Uploaded)
        .map(|b| b.size)
        .sum();
    Ok(PushReport {
        reference: target
            .with_digest(&item.artifact.descriptor.digest)
            .to_string(),
        digest: item.artifact.descriptor.digest.clone(),
        tags: tags.to_vec(),
        blobs,
        referrers,
        sidecars,
        bytes_uploaded,
        signed: Vec::new(),
    })
}

/// The tags each item goes under: the target's tag and `extra` for a single item, else each
/// item's own tag (`latest` for a bare module).
pub fn plan_tags(items: &[Item], target: &Target, extra: &[String]) -> Result<Vec<Vec<String>>> {
    if target.digest().is_some() {
        return Err(Error::Usage(format!(
            "{target}: push to a tag (or a bare repository), not a digest"
        )));
    }
    for t in extra {
        if !reference::valid_tag(t) {
            return Err(Error::Usage(format!("--tag `{t}` is not a valid tag")));
        }
    }
    if items.len() > 1 && (target.tag().is_some() || !extra.is_empty()) {
        let names: Vec<String> = items.iter().filter_map(|i| i.source_tag.clone()).collect();
        return Err(Error::Usage(format!(
            "the source holds {} artifacts ({}): pick one with oci-layout:PATH:TAG to give it a tag",
            items.len(),
            names.join(", ")
        )));
    }
    Ok(items
        .iter()
        .map(|item| {
            let mut tags: Vec<String> = target
                .tag()
                .map(str::to_string)
                .or_else(|| item.source_tag.clone())
                .into_iter()
                .collect();
            if tags.is_empty() {
                tags.push("latest".into());
            }
            for t in extra {
                if !tags.contains(t) {
                    tags.push(t.clone());
                }
            }
            tags
        })
        .collect())
}

/// The SBOM `push --key` attests beside the signature and the SLSA provenance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SbomKind {
    Spdx,
    Cyclonedx,
    None,
}

/// A key to sign what is pushed with, as the caller found it: whether it opens at once (no
/// key derivation to wait for), and how to open it (reading a password is the caller's job).
pub struct SignWith<'a> {
    pub opens_at_once: bool,
    pub open: Box<dyn FnOnce() -> Result<crate::sign::KeySigner> + Send + 'a>,
    pub sbom: SbomKind,
    pub mode: crate::sign::Mode,
}

impl SignWith<'_> {
    /// An unencrypted key, without Sigstore bundles, signs before the upload: the manifest's
    /// digest is known before anything goes up.
    fn signs_first(&self) -> bool {
        self.opens_at_once && !self.mode.referrers
    }
}

/// When to check the digests of a layout source's blobs for a push to `target` signed with
/// `key`: while they upload to a registry (the registry refuses a wrong blob, and the check
/// ends before any tag is written), or as they load where what is signed is made from them
/// first or where a layout target would store them unchecked.
pub fn source_check(target: &Target, key: Option<&SignWith>) -> Check {
    match target {
        Target::Registry(_) if !key.is_some_and(SignWith::signs_first) => Check::WhileUploading,
        _ => Check::Now,
    }
}

/// Pushes `items` to `store` under `tags` (one list per item, from [`plan_tags`]), signing and
/// attesting each with `key` when one is given. The ordering rule holds on every path: no
/// manifest is stored under a tag before all of its blobs are stored, the blobs of a layout
/// loaded with [`Check::WhileUploading`] have passed their digest check, and the key has
/// opened. A blob that fails its check is the error reported, even when the registry refused
/// it first, because the check says which blob and why.
pub fn publish(
    store: &Store,
    target: &Target,
    items: &[Item],
    tags: &[Vec<String>],
    key: Option<SignWith>,
) -> Result<Vec<PushReport>> {
    let job = Job {
        store,
        target,
        items,
        tags,
    };
    std::thread::scope(|s| {
        // The digest check runs beside the upload; the first tag waits for it.
        let mut checking = items
            .iter()
            .any(|i| i.unchecked.is_some())
            .then(|| s.spawn(|| check_blobs(items)));
        let mut checked = move || -> Result<()> {
            match checking.take() {
                Some(h) => h.join().expect("check thread"),
                None => Ok(()),
            }
        };
        let pushed = match key {
            None => job.push(&mut checked),
            Some(key) if key.signs_first() => {
                let signer = (key.open)()?;
                job.push_signed_first(&signer, key.sbom)
            }
            Some(key) => job.push_then_sign(key, &mut checked),
        };
        match pushed {
            Err(e) => Err(checked().err().unwrap_or(e)),
            ok => ok,
        }
    })
}

/// What one `push` sends, and where.
#[derive(Clone, Copy)]
struct Job<'a> {
    store: &'a Store,
    target: &'a Target,
    items: &'a [Item],
    tags: &'a [Vec<String>],
}

impl Item {
    /// The SBOM `sbom` asks to attest for this item.
    fn sbom_of(&self, sbom: SbomKind) -> Result<Option<(String, serde_json::Value)>> {
        match sbom {
            SbomKind::None => Ok(None),
            kind => self.sbom(kind == SbomKind::Cyclonedx),
        }
    }
}

impl Job<'_> {
    /// Pushes each item under its tags; `gate` runs before the first manifest is stored.
    fn push(&self, gate: &mut dyn FnMut() -> Result<()>) -> Result<Vec<PushReport>> {
        self.items
            .iter()
            .zip(self.tags)
            .map(|(item, tags)| push_gated(self.store, self.target, item, tags, gate))
            .collect()
    }

    /// A key that opens at once. The signature and attestations name the manifest's digest,
    /// known before anything is uploaded, so they are made and their blobs stored first; their
    /// tags are then written (and read back, see `sign::append`) while the module uploads,
    /// instead of after it. If the module's upload then fails, the signatures stay: they sign
    /// exactly the digest that was meant, which nothing else can have.
    fn push_signed_first(
        &self,
        signer: &crate::sign::KeySigner,
        sbom: SbomKind,
    ) -> Result<Vec<PushReport>> {
        let Job { store, target, .. } = *self;
        self.items
            .iter()
            .zip(self.tags)
            .map(|(item, tags)| {
                let subject = crate::sign::Subject::of(target, item.artifact.descriptor.clone());
                let pending = crate::sign::prepare_sign_and_attest(
                    store,
                    &subject,
                    signer,
                    || item.sbom_of(sbom),
                    &item.build_facts(),
                )?;
                let (pushed, signed) = std::thread::scope(|s| {
                    let signed = s.spawn(|| pending.commit(store));
                    let pushed = push(store, target, item, tags);
                    (pushed, signed.join().expect("sign thread"))
                });
                let mut report = pushed?;
                report.signed = signed?;
                Ok(report)
            })
            .collect()
    }

    /// A key that takes a while to open (scrypt), or Sigstore bundles: the key opens and the
    /// SBOMs are made while the blobs go up; signing follows the push. `checked` (the blobs'
    /// digests) must pass before anything is tagged, as must the key.
    fn push_then_sign(
        &self,
        key: SignWith,
        checked: &mut dyn FnMut() -> Result<()>,
    ) -> Result<Vec<PushReport>> {
        let items = self.items;
        let SignWith {
            open, sbom, mode, ..
        } = key;
        let (pushed, later) = std::thread::scope(|s| {
            let mut handle = Some(s.spawn(move || -> Result<_> {
                let signer = open()?;
                let sboms = items
                    .iter()
                    .map(|item| item.sbom_of(sbom))
                    .collect::<Result<Vec<_>>>()?;
                Ok((signer, sboms))
            }));
            // The key must open before anything is tagged: the first manifest waits for it.
            let mut later = None;
            let pushed = self.push(&mut || {
                checked()?;
                if let Some(h) = handle.take() {
                    later = Some(h.join().expect("key thread")?);
                }
                Ok(())
            });
            (pushed, later)
        });
        let mut pushed = pushed?;
        let (signer, sboms) = later.expect("the gate ran before the first manifest");
        for ((item, report), sbom) in items.iter().zip(pushed.iter_mut()).zip(sboms) {
            // The manifest was just stored: sign what was pushed without asking for it back.
            let subject = crate::sign::Subject::of(self.target, item.artifact.descriptor.clone());
            report.signed = crate::sign::sign_and_attest_subject(
                self.store,
                &subject,
                &signer,
                sbom,
                &item.build_facts(),
                mode,
            )?;
        }
        Ok(pushed)
    }
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

    /// A source layout at `dir/src` holding one tagged wasm artifact, and an empty target
    /// layout at `dir/dst`.
    fn layouts(dir: &Path) -> (Layout, Target) {
        let src = Layout::create(&dir.join("src")).unwrap();
        let module = b"\0asm\x01\0\0\0";
        let spec = artifact::WasmSpec {
            title: "a.wasm".into(),
            os: "wasip1".into(),
            created: "2024-01-01T00:00:00Z".into(),
            ..Default::default()
        };
        let a = wasm_artifact(
            &Blob::from(module.to_vec()),
            &crate::digest::sha256_hex(module),
            &spec,
        );
        src.add(&a, Some("v1")).unwrap();
        let dst = Target::parse(&format!("oci-layout:{}", dir.join("dst").display())).unwrap();
        (src, dst)
    }

    fn tagged(target: &Target) -> Vec<String> {
        let store = Store::open(target, Default::default(), true).unwrap();
        let Store::Layout(l) = store else {
            unreachable!()
        };
        l.entries()
            .unwrap()
            .iter()
            .filter_map(|d| crate::oci::layout::tag_of(d).map(str::to_string))
            .collect()
    }

    fn key_that_does_not_open(opens_at_once: bool) -> SignWith<'static> {
        SignWith {
            opens_at_once,
            open: Box::new(|| Err(Error::Key("k.key: wrong password".into()))),
            sbom: SbomKind::Spdx,
            mode: Default::default(),
        }
    }

    #[test]
    fn nothing_is_tagged_when_the_key_does_not_open() {
        for opens_at_once in [true, false] {
            let dir = tempfile::tempdir().unwrap();
            let (src, dst) = layouts(dir.path());
            let source = format!("oci-layout:{}", src.root.display());
            let items = load_source(&source, dir.path(), Check::Now).unwrap();
            let tags = plan_tags(&items, &dst, &[]).unwrap();
            let store = Store::open(&dst, Default::default(), true).unwrap();
            let err = publish(
                &store,
                &dst,
                &items,
                &tags,
                Some(key_that_does_not_open(opens_at_once)),
            )
            .unwrap_err();
            assert!(err.to_string().contains("wrong password"), "{err}");
            assert!(tagged(&dst).is_empty(), "opens at once: {opens_at_once}");
        }
    }

    #[test]
    fn nothing_is_tagged_when_a_blob_checked_during_the_upload_is_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let (src, dst) = layouts(dir.path());
        let source = format!("oci-layout:{}", src.root.display());
        let items = load_source(&source, dir.path(), Check::WhileUploading).unwrap();
        // The module's bytes change after the source loaded (its size is the same).
        let (layer, _) = items[0].wasm_layer().unwrap();
        std::fs::write(src.blob_path(&layer.digest), b"\0asm\x01\0\0\x01").unwrap();
        let items = load_source(&source, dir.path(), Check::WhileUploading).unwrap();
        let tags = plan_tags(&items, &dst, &[]).unwrap();
        let store = Store::open(&dst, Default::default(), true).unwrap();
        let err = publish(&store, &dst, &items, &tags, None).unwrap_err();
        assert!(matches!(err, Error::Integrity(_)), "{err}");
        assert!(tagged(&dst).is_empty());
    }

    #[test]
    fn a_good_push_tags_the_artifact_under_the_source_tag() {
        let dir = tempfile::tempdir().unwrap();
        let (src, dst) = layouts(dir.path());
        let source = format!("oci-layout:{}", src.root.display());
        let items = load_source(&source, dir.path(), Check::WhileUploading).unwrap();
        let tags = plan_tags(&items, &dst, &[]).unwrap();
        let store = Store::open(&dst, Default::default(), true).unwrap();
        let reports = publish(&store, &dst, &items, &tags, None).unwrap();
        assert_eq!(reports[0].tags, ["v1"]);
        assert_eq!(tagged(&dst), ["v1"]);
    }
}

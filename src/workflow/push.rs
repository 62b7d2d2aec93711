//! Push: an artifact and everything that refers to it (see [`super::source`]), to a registry
//! or another layout. Blobs go first, then the manifest under its tags, then its referrers: a
//! tag never points at a manifest whose blobs are missing.

use super::source::{check_blobs, Check, Item};
use crate::error::{Error, Result};
use crate::oci::artifact::Descriptor;
use crate::oci::artifact::{Artifact, Blob};
use crate::oci::reference::{self, Target};
use crate::oci::remote::BlobOutcome;
use crate::oci::store::{Indexed, Store};
use crate::sign::{ClosedKey, Mode, Signing};
use serde::Serialize;
use std::collections::BTreeMap;

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
    push_gated(store, target, item, tags, &mut || Ok(()), &mut || Ok(()))
}

/// [`push`], calling `gate` after the blobs are stored and before any manifest is (a failing
/// gate, a signing key that does not open say, leaves nothing tagged), and `stored` once the
/// manifest is stored, before its referrers are added (`push --key` starts signing there, so
/// that the signatures' confirmation runs beside the referrers').
pub fn push_gated(
    store: &Store,
    target: &Target,
    item: &Item,
    tags: &[String],
    gate: &mut dyn FnMut() -> Result<()>,
    stored: &mut dyn FnMut() -> Result<()>,
) -> Result<PushReport> {
    let more = &mut || stored().map(|()| Vec::new());
    Ok(push_with(store, target, item, tags, gate, more)?.0)
}

/// More referrers of an item, stored with its own, and how each was made findable.
type MoreReferrers = (Vec<Artifact>, Vec<Option<Indexed>>);

/// [`push_gated`], where `stored` returns more referrers of the item (their blobs with them),
/// stored beside its own: where the registry has no referrers API, all of them join the
/// fallback index in one append, confirmed once.
fn push_with(
    store: &Store,
    target: &Target,
    item: &Item,
    tags: &[String],
    gate: &mut dyn FnMut() -> Result<()>,
    stored: &mut dyn FnMut() -> Result<Vec<Artifact>>,
) -> Result<(PushReport, MoreReferrers)> {
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
    let more = stored()?;
    if !more.is_empty() {
        store.put_blobs(&crate::sign::blobs_of(&more))?;
    }
    // Signatures and attestations join those already there instead of replacing them; the
    // `.sig` and `.att` tags are confirmed together with the fallback index.
    let merges = crate::sign::sidecar_merges(&item.sidecars)?;
    let all: Vec<Artifact> = item.referrers.iter().chain(&more).cloned().collect();
    let mut indexed = store.put_referrers(&all, &merges)?;
    let more_indexed = indexed.split_off(item.referrers.len());
    let referrers = item
        .referrers
        .iter()
        .zip(indexed)
        .map(|(r, indexed)| ReferrerReport {
            digest: r.descriptor.digest.clone(),
            artifact_type: r.descriptor.artifact_type.clone(),
            indexed,
        })
        .collect();
    let sidecars = item.sidecars.iter().map(|(tag, _)| tag.clone()).collect();
    let bytes_uploaded = blobs
        .iter()
        .filter(|b| b.outcome == BlobOutcome::Uploaded)
        .map(|b| b.size)
        .sum();
    let report = PushReport {
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
    };
    Ok((report, (more, more_indexed)))
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
            return Err(Error::Reference(format!("--tag `{t}` is not a valid tag")));
        }
    }
    // The entries of an image index go by digest; the index carries the tags.
    let roots = items.iter().filter(|i| !i.entry_of_index).count();
    if roots > 1 && (target.tag().is_some() || !extra.is_empty()) {
        let names: Vec<String> = items.iter().filter_map(|i| i.source_tag.clone()).collect();
        return Err(Error::Usage(format!(
            "the source holds {} artifacts ({}): pick one with oci-layout:PATH:TAG to give it a tag",
            roots,
            names.join(", ")
        )));
    }
    Ok(items
        .iter()
        .map(|item| {
            if item.entry_of_index {
                return Vec::new();
            }
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

/// Who signs what is pushed, as the caller found it (reading a password is the caller's
/// job): a key not opened yet, so that an encrypted key's derivation can overlap the upload,
/// or a keyless signer whose token and instance are resolved (so the ordering rule's "the key
/// has opened" holds before anything is sent).
pub struct SignWith {
    signer: Signing<ClosedKey>,
    sbom: SbomKind,
    mode: Mode,
}

impl SignWith {
    /// `mode` is `--attach` as asked; it is settled for `signer` now, so that a form the
    /// signer cannot store in fails before anything is sent.
    pub fn new(signer: Signing<ClosedKey>, sbom: SbomKind, mode: Mode) -> Result<SignWith> {
        let mode = signer.mode(mode)?;
        Ok(SignWith { signer, sbom, mode })
    }

    /// Whether the signatures may be made before the upload (the manifest's digest is known
    /// before anything goes up): an unencrypted key whose signatures are not logged, and
    /// cosign's tag form, which `Auto` comes to on a registry without the referrers API.
    fn may_sign_first(&self) -> bool {
        !self.signer.is_logged()
            && self.signer.opens_at_once()
            && matches!(self.mode, Mode::Tags | Mode::Auto)
    }

    /// Whether the signatures are logged Sigstore bundles, made before the upload and stored
    /// with the artifact's other referrers: a keyless signer, or a key whose signatures are
    /// logged (an encrypted one too: its derivation then no longer overlaps the upload, but a
    /// log or timestamp authority that refuses must fail the push before anything is tagged).
    /// With `--attach both`, a key's unlogged `.sig`/`.att` tags follow the manifest.
    fn bundles_first(&self) -> bool {
        self.signer.is_logged() && matches!(self.mode, Mode::Bundles | Mode::Both)
    }

    /// [`SignWith::may_sign_first`], with `Auto` settled by asking `store` whether it has the
    /// referrers API (a repository that does not exist yet is asked again after the push).
    fn signs_first(&self, store: &Store, items: &[Item]) -> Result<bool> {
        if !self.may_sign_first() {
            return Ok(false);
        }
        let Some(first) = items.first() else {
            return Ok(false);
        };
        Ok(self
            .mode
            .resolve(store, &first.artifact.descriptor.digest)?
            == Some(crate::sign::Form::TAGS))
    }
}

/// When to check the digests of a layout source's blobs for a push to `target` signed with
/// `key`: while they upload to a registry (the registry refuses a wrong blob, and the check
/// ends before any tag is written), or as they load where what is signed is made from them
/// first or where a layout target would store them unchecked.
pub fn source_check(target: &Target, key: Option<&SignWith>) -> Check {
    match target {
        Target::Registry(_) if !key.is_some_and(SignWith::may_sign_first) => Check::WhileUploading,
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
            Some(key) if key.bundles_first() => {
                let signer = key.signer.open()?;
                job.push_bundles_signed_first(&signer, key.sbom, key.mode, &mut checked)
            }
            Some(key) if key.signs_first(store, items)? => match key.signer.open()? {
                Signing::Key(signer) => job.push_signed_first(&signer, key.sbom),
                _ => unreachable!("only an unlogged key signs first"),
            },
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
        self.push_each(gate, &mut |_| Ok(()))
    }

    /// [`Job::push`], calling `stored(i)` once item `i`'s manifest is stored.
    fn push_each(
        &self,
        gate: &mut dyn FnMut() -> Result<()>,
        stored: &mut dyn FnMut(usize) -> Result<()>,
    ) -> Result<Vec<PushReport>> {
        self.items
            .iter()
            .zip(self.tags)
            .enumerate()
            .map(|(i, (item, tags))| {
                push_gated(self.store, self.target, item, tags, gate, &mut || stored(i))
            })
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

    /// Keyless, or a key whose signatures are logged, opened before anything was sent: the
    /// signature and the attestations (SBOM, SLSA provenance) name the manifests' digests,
    /// known before the upload, so they are signed and logged first (nothing is tagged unless
    /// they were made); each artifact's bundles are then stored with its other referrers, in
    /// one append of the fallback index where the registry has no referrers API. (Signing on
    /// a thread while the blobs upload gained nothing measurable: docs/architecture.md.)
    ///
    /// With `--attach both` (a logged key), cosign v2's unlogged `.sig`/`.att` tags are added
    /// once each manifest is stored, as an unlogged key adds them.
    fn push_bundles_signed_first(
        &self,
        signer: &Signing,
        sbom: SbomKind,
        mode: Mode,
        checked: &mut dyn FnMut() -> Result<()>,
    ) -> Result<Vec<PushReport>> {
        let Job { target, items, .. } = *self;
        let subjects = items
            .iter()
            .map(|item| {
                let subject = crate::sign::Subject::of(target, item.artifact.descriptor.clone());
                Ok((subject, item.sbom_of(sbom)?, item.build_facts()))
            })
            .collect::<Result<Vec<_>>>()?;
        let tags_too = (mode == Mode::Both).then(|| signer.key()).flatten();
        let made = crate::sign::sign_subjects(signer, subjects.clone())?;
        items
            .iter()
            .zip(self.tags)
            .zip(made.iter().zip(subjects))
            .map(|((item, tags), (bundles, (subject, sbom, facts)))| {
                let (mut report, (referrers, indexed)) =
                    push_with(self.store, target, item, tags, checked, &mut || {
                        Ok(bundles.referrers())
                    })?;
                report.signed = bundles.signed(&referrers, indexed);
                if let Some(key) = tags_too {
                    let pending = crate::sign::prepare_sign_and_attest(
                        self.store,
                        &subject,
                        key,
                        || Ok(sbom),
                        &facts,
                    )?;
                    report.signed.extend(pending.commit(self.store)?);
                }
                Ok(report)
            })
            .collect()
    }

    /// A key that takes a while to open (scrypt), Sigstore bundles (logged or not), or a
    /// keyless signer: the key opens and the SBOMs are made while the blobs go up; each
    /// manifest is signed once it is stored, beside the append of its referrers. `checked`
    /// (the blobs' digests) must pass before anything is tagged, as must the key.
    fn push_then_sign(
        &self,
        key: SignWith,
        checked: &mut dyn FnMut() -> Result<()>,
    ) -> Result<Vec<PushReport>> {
        let Job {
            store,
            target,
            items,
            ..
        } = *self;
        let SignWith { signer, sbom, mode } = key;
        // The key and the SBOMs, once the key has opened (before the first manifest).
        let opened = std::sync::OnceLock::new();
        std::thread::scope(|s| {
            let mut opening = Some(s.spawn(move || -> Result<_> {
                let signer = signer.open()?;
                let sboms = items
                    .iter()
                    .map(|item| item.sbom_of(sbom))
                    .collect::<Result<Vec<_>>>()?;
                Ok((signer, sboms))
            }));
            let mut signing = Vec::new();
            let pushed = self.push_each(
                // The key must open before anything is tagged: the first manifest waits for it.
                &mut || {
                    checked()?;
                    if let Some(h) = opening.take() {
                        let _ = opened.set(h.join().expect("key thread")?);
                    }
                    Ok(())
                },
                // Each manifest stored is signed while its referrers are added, so that the
                // `.sig`/`.att` tags and the fallback index are confirmed side by side
                // (docs/architecture.md) instead of one after the other.
                &mut |i| {
                    let (signer, sboms) = opened.get().expect("the gate ran first");
                    let item = &items[i];
                    let sbom = sboms[i].clone();
                    signing.push(s.spawn(move || {
                        // The manifest was just stored: sign it without asking for it back.
                        let subject =
                            crate::sign::Subject::of(target, item.artifact.descriptor.clone());
                        crate::sign::sign_and_attest_subject(
                            store,
                            &subject,
                            signer,
                            sbom,
                            &item.build_facts(),
                            mode,
                        )
                    }));
                    Ok(())
                },
            );
            let signed: Vec<Result<Vec<crate::sign::Signed>>> = signing
                .into_iter()
                .map(|h| h.join().expect("sign thread"))
                .collect();
            let mut pushed = pushed?;
            for (report, signed) in pushed.iter_mut().zip(signed) {
                report.signed = signed?;
            }
            Ok(pushed)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::artifact::{self, wasm_artifact};
    use crate::oci::Layout;
    use crate::workflow::source::load_source;
    use std::path::Path;

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

    fn key_that_does_not_open(opens_at_once: bool) -> SignWith {
        let key = ClosedKey {
            encrypted: !opens_at_once,
            open: Box::new(|| Err(Error::Key("k.key: wrong password".into()))),
        };
        SignWith::new(Signing::Key(key), SbomKind::Spdx, Default::default()).unwrap()
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

//! One interface over the two places artifacts live, a registry and a local image layout, so
//! that push, pull, sign and verify are written once for both.

use super::artifact::{to_bytes, Artifact, Blob, Descriptor, INDEX, MANIFEST};
use super::confirm;
use super::layout::{self, Layout, REF_NAME};
use super::model::{self, Document, ImageIndex};
use super::reference::Target;
use super::remote::{self, BlobOutcome, Fetched, Remote};
use crate::error::{Error, RegistryError, RegistryErrorKind, Result};

pub enum Store {
    Layout(Layout),
    Remote(Remote),
}

/// How a referrer was made findable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Indexed {
    /// The registry has the referrers API and indexed it itself.
    ReferrersApi,
    /// Listed in the `sha256-HEX` fallback index tag.
    FallbackTag,
    /// An untagged entry in the layout's `index.json`.
    LayoutIndex,
}

impl Store {
    /// Opens the store `target` names. A layout is created when `create`, and must already
    /// exist otherwise.
    pub fn open(target: &Target, opts: remote::Options, create: bool) -> Result<Store> {
        match target {
            Target::Registry(r) => Ok(Store::Remote(Remote::connect(r, opts)?)),
            Target::Layout { path, .. } => {
                if create {
                    Ok(Store::Layout(Layout::create(path)?))
                } else if path.join("oci-layout").is_file() {
                    Ok(Store::Layout(Layout {
                        root: path.to_path_buf(),
                    }))
                } else {
                    Err(Error::Input(format!(
                        "{}: not an OCI image layout (no `oci-layout` file)",
                        path.display()
                    )))
                }
            }
        }
    }

    /// The manifest `target` names; its absence is an error that names it.
    pub fn fetch(&self, target: &Target) -> Result<Fetched> {
        self.manifest(target.selector())?.ok_or_else(|| {
            RegistryError::new(RegistryErrorKind::NotFound, format!("{target}: not found")).into()
        })
    }

    /// A manifest by tag or digest; `None` when absent.
    pub fn manifest(&self, reference: &str) -> Result<Option<Fetched>> {
        match self {
            Store::Remote(r) => r.get_manifest(reference),
            Store::Layout(l) => {
                let digest = if reference.starts_with("sha256:") {
                    reference.to_string()
                } else {
                    match l.resolve(reference)? {
                        Some(d) => d.digest,
                        None => return Ok(None),
                    }
                };
                let Some(bytes) = l.manifest_bytes(&digest)? else {
                    return Ok(None);
                };
                let actual = crate::digest::sha256_digest(&bytes);
                if actual != digest {
                    return Err(Error::Integrity(format!(
                        "{}: blob {digest} holds bytes whose digest is {actual}",
                        l.root.display()
                    )));
                }
                let media_type =
                    model::media_type_of(&bytes).unwrap_or_else(|| MANIFEST.to_string());
                Ok(Some(Fetched {
                    bytes,
                    media_type,
                    digest,
                }))
            }
        }
    }

    /// Streams a blob into `sink`, checking its size and digest (see [`Remote::download`]).
    pub fn download(&self, d: &Descriptor, sink: &mut dyn std::io::Write) -> Result<()> {
        match self {
            Store::Remote(r) => r.download(d, sink),
            Store::Layout(l) => {
                let bytes = l.checked_blob(d)?;
                sink.write_all(&bytes).map_err(|source| Error::Write {
                    path: l.blob_path(&d.digest),
                    source,
                })
            }
        }
    }

    /// A blob's bytes, digest-checked unless `check` is false (then, from a layout, only its
    /// size is): from a layout, its file mapped rather than copied.
    pub fn blob_bytes(&self, d: &Descriptor, check: bool) -> Result<Blob> {
        match self {
            Store::Remote(_) => Ok(Blob::from(self.blob(d)?)),
            Store::Layout(l) if check => Ok(l.checked_blob(d)?.into_bytes()),
            Store::Layout(l) => Ok(l.sized_blob(d)?.into_bytes()),
        }
    }

    pub fn blob(&self, d: &Descriptor) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(d.size.min(64 << 20) as usize);
        self.download(d, &mut out)?;
        Ok(out)
    }

    /// Stores blobs the store lacks.
    pub fn put_blobs(&self, blobs: &[(Descriptor, Blob)]) -> Result<Vec<(String, BlobOutcome)>> {
        match self {
            Store::Remote(r) => r.push_blobs(blobs),
            Store::Layout(l) => blobs
                .iter()
                .map(|(d, bytes)| {
                    let outcome = match l.put_blob(d, bytes)? {
                        true => BlobOutcome::Uploaded,
                        false => BlobOutcome::Present,
                    };
                    Ok((d.digest.clone(), outcome))
                })
                .collect(),
        }
    }

    /// Stores a manifest whose blobs are already stored, under `tag` or by digest only, and
    /// makes it findable from its `subject` if it has one.
    pub fn put_manifest(&self, a: &Artifact, tag: Option<&str>) -> Result<Option<Indexed>> {
        let subject = model::parse_manifest(&a.manifest)
            .ok()
            .and_then(|m| model::subject_digest(&m));
        match self {
            Store::Layout(l) => {
                let bytes_only = Artifact {
                    blobs: Vec::new(),
                    ..a.clone()
                };
                l.add(&bytes_only, tag)?;
                Ok(subject.map(|_| Indexed::LayoutIndex))
            }
            Store::Remote(r) => {
                let has_api = r.put_manifest(
                    &a.manifest,
                    &a.descriptor.media_type,
                    tag.unwrap_or(&a.descriptor.digest),
                )?;
                match subject {
                    None => Ok(None),
                    Some(_) if has_api => Ok(Some(Indexed::ReferrersApi)),
                    Some(subject) => {
                        self.add_to_fallback(&subject, vec![referrer_descriptor(a)])?;
                        Ok(Some(Indexed::FallbackTag))
                    }
                }
            }
        }
    }

    /// Adds `entry` to the `sha256-HEX` fallback index, confirmed as [`super::confirm`]
    /// describes: another writer of the index at the same time cannot drop it unnoticed.
    fn add_to_fallback(&self, subject: &str, entries: Vec<Descriptor>) -> Result<()> {
        let doc = FallbackEntries(entries);
        let prepared = confirm::prepare(self, &fallback_tag(subject), &doc)?;
        confirm::append(self, &doc, prepared)?;
        Ok(())
    }

    /// [`Store::put_manifest`] for several referrers, untagged: where the registry has no
    /// referrers API, those of one subject are added to its fallback index in one append.
    /// `also` are more tags to append to (`push` merging `.sig`/`.att`): all of them are
    /// confirmed together ([`confirm::append_all`]), so that their watch windows overlap.
    pub fn put_referrers(
        &self,
        artifacts: &[Artifact],
        also: &[(String, Box<dyn confirm::Appendable + Send + Sync>)],
    ) -> Result<Vec<Option<Indexed>>> {
        let r = match self {
            Store::Remote(r) => r,
            Store::Layout(l) => {
                // Blobs are stored already; `index.json` is replaced once for all of them.
                let bytes_only: Vec<Artifact> = artifacts
                    .iter()
                    .map(|a| Artifact {
                        manifest: a.manifest.clone(),
                        descriptor: a.descriptor.clone(),
                        blobs: Vec::new(),
                    })
                    .collect();
                let batch: Vec<(&Artifact, Option<&str>)> =
                    bytes_only.iter().map(|a| (a, None)).collect();
                l.add_all(&batch)?;
                let indexed = artifacts
                    .iter()
                    .map(|a| {
                        model::parse_manifest(&a.manifest)
                            .ok()
                            .and_then(|m| model::subject_digest(&m))
                            .map(|_| Indexed::LayoutIndex)
                    })
                    .collect();
                self.append_all(Vec::new(), also)?;
                return Ok(indexed);
            }
        };
        let mut indexed = Vec::new();
        let mut fallback: Vec<(String, Vec<Descriptor>)> = Vec::new();
        for a in artifacts {
            let subject = model::parse_manifest(&a.manifest)
                .ok()
                .and_then(|m| model::subject_digest(&m));
            let has_api =
                r.put_manifest(&a.manifest, &a.descriptor.media_type, &a.descriptor.digest)?;
            indexed.push(match subject {
                None => None,
                Some(_) if has_api => Some(Indexed::ReferrersApi),
                Some(subject) => {
                    let entry = referrer_descriptor(a);
                    match fallback.iter_mut().find(|(s, _)| *s == subject) {
                        Some((_, entries)) => entries.push(entry),
                        None => fallback.push((subject, vec![entry])),
                    }
                    Some(Indexed::FallbackTag)
                }
            });
        }
        let fallback: Vec<(String, FallbackEntries)> = fallback
            .into_iter()
            .map(|(subject, entries)| (fallback_tag(&subject), FallbackEntries(entries)))
            .collect();
        self.append_all(fallback, also)?;
        Ok(indexed)
    }

    fn append_all(
        &self,
        fallback: Vec<(String, FallbackEntries)>,
        also: &[(String, Box<dyn confirm::Appendable + Send + Sync>)],
    ) -> Result<()> {
        let mut jobs: Vec<(&dyn confirm::Appendable, confirm::Prepared)> = Vec::new();
        for (tag, doc) in &fallback {
            jobs.push((doc, confirm::prepare(self, tag, doc)?));
        }
        for (tag, doc) in also {
            jobs.push((doc.as_ref(), confirm::prepare(self, tag, doc.as_ref())?));
        }
        confirm::append_all(self, jobs)?;
        Ok(())
    }

    /// Whether referrers stored here are indexed by the registry itself (the OCI 1.1
    /// referrers API), asked about `digest`'s repository: `Some(false)` for a registry
    /// without the API and for a layout, `None` when the repository does not exist yet.
    pub fn has_referrers_api(&self, digest: &str) -> Result<Option<bool>> {
        match self {
            Store::Remote(r) => r.has_referrers_api(digest),
            Store::Layout(_) => Ok(Some(false)),
        }
    }

    /// Manifests that refer to `digest`: the referrers API, else the fallback index; in a
    /// layout, the untagged entries whose `subject` is `digest`.
    pub fn referrers(&self, digest: &str) -> Result<Vec<Descriptor>> {
        match self {
            Store::Remote(r) => {
                if let Some(list) = r.referrers(digest)? {
                    return Ok(list);
                }
                Ok(match r.get_manifest(&fallback_tag(digest))? {
                    Some(f) => model::parse_index(&f.bytes)
                        .ok()
                        .and_then(|i| model::entries(&i).ok())
                        .unwrap_or_default(),
                    None => Vec::new(),
                })
            }
            Store::Layout(l) => Ok(l
                .entries()?
                .into_iter()
                .filter(|d| layout::tag_of(d).is_none())
                .filter(|d| layout::stored_subject(&l.root, &d.digest).as_deref() == Some(digest))
                .collect()),
        }
    }

    /// Reads a manifest and its blobs into memory, ready to store elsewhere.
    pub fn load_artifact(&self, d: &Descriptor, check: bool) -> Result<Artifact> {
        let fetched = self.manifest(&d.digest)?.ok_or_else(|| {
            Error::Input(format!("manifest {} is listed but not stored", d.digest))
        })?;
        if fetched.bytes.len() as u64 != d.size {
            return Err(Error::Integrity(format!(
                "manifest {} has {} bytes; its descriptor lists {}",
                d.digest,
                fetched.bytes.len(),
                d.size
            )));
        }
        let manifest = match model::parse_document(&fetched.bytes) {
            Ok(Document::Manifest(m)) if fetched.media_type != INDEX => m,
            Ok(_) => {
                return Err(Error::Input(format!(
                    "{} is an image index; push the manifests it lists one by one",
                    d.digest
                )))
            }
            Err(e) => return Err(Error::Input(format!("manifest {}: {e}", d.digest))),
        };
        let mut blobs = Vec::new();
        for desc in model::blobs(&manifest)
            .map_err(|e| Error::Input(format!("manifest {}: bad descriptor: {e}", d.digest)))?
        {
            let bytes = self.blob_bytes(&desc, check)?;
            blobs.push((desc, bytes));
        }
        let mut descriptor = d.clone();
        descriptor.annotations.remove(REF_NAME);
        Ok(Artifact {
            manifest: fetched.bytes,
            descriptor,
            blobs,
        })
    }
}

/// The tag that holds the referrers fallback index (and, with `.sig`/`.att`, cosign's).
pub fn fallback_tag(digest: &str) -> String {
    digest.replacen(':', "-", 1)
}

/// Referrers to list in the fallback index.
struct FallbackEntries(Vec<Descriptor>);

impl confirm::Appendable for FallbackEntries {
    fn holds(&self, current: Option<&[u8]>) -> bool {
        current
            .and_then(|b| model::parse_index(b).ok())
            .is_some_and(|i| self.0.iter().all(|e| contains(&i, &e.digest)))
    }

    fn next(&self, _: &Store, current: Option<&[u8]>) -> Result<Artifact> {
        // A tag that holds something other than an index is replaced by one.
        let mut index = current
            .and_then(|b| model::parse_index(b).ok())
            .unwrap_or_else(layout::empty_index);
        let mut manifests = index.manifests().clone();
        for e in &self.0 {
            if !manifests.iter().any(|m| m.digest().as_ref() == e.digest) {
                manifests.push(model::oci(e));
            }
        }
        index.set_manifests(manifests);
        let bytes = to_bytes(&index);
        Ok(Artifact {
            descriptor: Descriptor::of(INDEX, &bytes),
            manifest: bytes,
            blobs: Vec::new(),
        })
    }
}

fn contains(index: &ImageIndex, digest: &str) -> bool {
    index
        .manifests()
        .iter()
        .any(|e| e.digest().as_ref() == digest)
}

/// A referrer's entry in an index: its `artifactType` (or its config's media type) and all
/// its annotations, as the distribution spec's fallback asks.
pub fn referrer_descriptor(a: &Artifact) -> Descriptor {
    let manifest = model::parse_manifest(&a.manifest).ok();
    let media_type = manifest
        .as_ref()
        .and_then(|m| m.media_type().as_ref())
        .map(|t| t.to_string())
        .unwrap_or_else(|| MANIFEST.to_string());
    let mut d = Descriptor::of(&media_type, &a.manifest);
    if let Some(m) = &manifest {
        d.artifact_type = Some(
            m.artifact_type()
                .as_ref()
                .unwrap_or(m.config().media_type())
                .to_string(),
        );
        d.annotations = model::sorted(m.annotations());
    }
    d
}

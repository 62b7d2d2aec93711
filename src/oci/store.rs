//! One interface over the two places artifacts live, a registry and a local image layout, so
//! that push, pull, sign and verify are written once for both.

use super::artifact::{to_bytes, Artifact, Blob, Descriptor, INDEX, MANIFEST};
use super::layout::{self, Layout, REF_NAME};
use super::reference::Target;
use super::remote::{self, BlobOutcome, Fetched, Remote};
use crate::error::{Error, RegistryError, RegistryErrorKind, Result};
use serde_json::Value;

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
                    Err(Error::Usage(format!(
                        "{}: not an OCI image layout (no `oci-layout` file)",
                        path.display()
                    )))
                }
            }
        }
    }

    /// Starts connecting and authenticating to a registry in the background (see
    /// [`Remote::warm_up`]); nothing for a layout.
    pub fn warm_up(&self) {
        if let Store::Remote(r) = self {
            r.warm_up();
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
                let path = l.blob_path(&digest);
                let bytes = match std::fs::read(&path) {
                    Ok(b) => b,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                    Err(source) => return Err(Error::Read { path, source }),
                };
                let actual = crate::digest::sha256_digest(&bytes);
                if actual != digest {
                    return Err(Error::Integrity(format!(
                        "{}: blob {digest} holds bytes whose digest is {actual}",
                        l.root.display()
                    )));
                }
                let media_type = serde_json::from_slice::<Value>(&bytes)
                    .ok()
                    .and_then(|v| v["mediaType"].as_str().map(str::to_string))
                    .unwrap_or_else(|| MANIFEST.to_string());
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
        let subject = serde_json::from_slice::<Value>(&a.manifest)
            .ok()
            .and_then(|m| m["subject"]["digest"].as_str().map(str::to_string));
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
                        self.add_to_fallback(&subject, &referrer_descriptor(a))?;
                        Ok(Some(Indexed::FallbackTag))
                    }
                }
            }
        }
    }

    /// Adds `entry` to the `sha256-HEX` fallback index, re-reading after the write and trying
    /// again when another writer replaced the index in between.
    fn add_to_fallback(&self, subject: &str, entry: &Descriptor) -> Result<()> {
        let Store::Remote(r) = self else {
            unreachable!("layouts index referrers in index.json")
        };
        let tag = fallback_tag(subject);
        for _ in 0..8 {
            let mut index = match r.get_manifest(&tag)? {
                Some(f) => serde_json::from_slice::<Value>(&f.bytes)
                    .ok()
                    .filter(|v| v["manifests"].is_array())
                    .unwrap_or_else(layout::empty_index),
                None => layout::empty_index(),
            };
            if contains(&index, &entry.digest) {
                return Ok(());
            }
            index["manifests"]
                .as_array_mut()
                .expect("checked")
                .push(serde_json::to_value(entry).expect("descriptor serializes"));
            r.put_manifest(&to_bytes(&index), INDEX, &tag)?;
            if r.get_manifest(&tag)?
                .and_then(|f| serde_json::from_slice::<Value>(&f.bytes).ok())
                .is_some_and(|v| contains(&v, &entry.digest))
            {
                return Ok(());
            }
        }
        Err(Error::registry(format!(
            "{}: the fallback index {tag} kept changing under us; try again",
            r.reference()
        )))
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
                    Some(f) => serde_json::from_slice::<Value>(&f.bytes)
                        .ok()
                        .and_then(|v| serde_json::from_value(v["manifests"].clone()).ok())
                        .unwrap_or_default(),
                    None => Vec::new(),
                })
            }
            Store::Layout(l) => {
                let index = l.index()?;
                Ok(index["manifests"]
                    .as_array()
                    .expect("checked")
                    .iter()
                    .filter(|m| m["annotations"][REF_NAME].is_null())
                    .filter_map(|m| serde_json::from_value::<Descriptor>(m.clone()).ok())
                    .filter(|d| {
                        layout::stored_subject(&l.root, &d.digest).as_deref() == Some(digest)
                    })
                    .collect())
            }
        }
    }

    /// Reads a manifest and its blobs into memory, ready to store elsewhere.
    pub fn load_artifact(&self, d: &Descriptor, check: bool) -> Result<Artifact> {
        let fetched = self.manifest(&d.digest)?.ok_or_else(|| {
            Error::Usage(format!("manifest {} is listed but not stored", d.digest))
        })?;
        let manifest: Value = serde_json::from_slice(&fetched.bytes)
            .map_err(|e| Error::Usage(format!("manifest {}: not JSON: {e}", d.digest)))?;
        if fetched.media_type == INDEX || manifest["manifests"].is_array() {
            return Err(Error::Usage(format!(
                "{} is an image index; push the manifests it lists one by one",
                d.digest
            )));
        }
        let mut blobs = Vec::new();
        for b in std::iter::once(&manifest["config"]).chain(
            manifest["layers"]
                .as_array()
                .map(|l| l.as_slice())
                .unwrap_or_default(),
        ) {
            let desc: Descriptor = serde_json::from_value(b.clone())
                .map_err(|e| Error::Usage(format!("manifest {}: bad descriptor: {e}", d.digest)))?;
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

fn contains(index: &Value, digest: &str) -> bool {
    index["manifests"]
        .as_array()
        .is_some_and(|m| m.iter().any(|e| e["digest"] == digest))
}

/// A referrer's entry in an index: its `artifactType` (or its config's media type) and all
/// its annotations, as the distribution spec's fallback asks.
pub fn referrer_descriptor(a: &Artifact) -> Descriptor {
    let manifest: Value = serde_json::from_slice(&a.manifest).unwrap_or_default();
    let mut d = Descriptor::of(
        manifest["mediaType"].as_str().unwrap_or(MANIFEST),
        &a.manifest,
    );
    d.artifact_type = manifest["artifactType"]
        .as_str()
        .or(manifest["config"]["mediaType"].as_str())
        .map(str::to_string);
    d.annotations = serde_json::from_value(manifest["annotations"].clone()).unwrap_or_default();
    d
}

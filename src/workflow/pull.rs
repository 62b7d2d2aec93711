//! Pull: the one wasm layer of an artifact, digest-checked while it streams, written
//! atomically (nothing is left behind on a mismatch).

use crate::error::{Error, Result};
use crate::oci::artifact::{Descriptor, WASM_LAYERS};
use crate::oci::model::{self, Document, ImageManifest};
use crate::oci::reference::Target;
use crate::oci::remote::Fetched;
use crate::oci::store::Store;
use serde::Serialize;
use std::path::Path;

#[derive(Debug, Clone, Serialize)]
pub struct PullReport {
    pub reference: String,
    pub manifest_digest: String,
    pub config_media_type: String,
    pub layer_media_type: String,
    pub digest: String,
    pub size: u64,
    pub output: String,
}

/// The manifest `target` names (following an image index to its wasm entry) and its digest.
pub fn resolve(store: &Store, target: &Target) -> Result<(String, ImageManifest)> {
    follow(store, target, store.fetch(target)?)
}

/// [`resolve`] for a manifest already fetched.
pub fn follow(store: &Store, target: &Target, fetched: Fetched) -> Result<(String, ImageManifest)> {
    let index = match model::parse_document(&fetched.bytes)
        .map_err(|e| Error::registry(format!("{target}: manifest: {e}")))?
    {
        Document::Manifest(m) => return Ok((fetched.digest, *m)),
        Document::Index(index) => index,
    };
    // An image index: take its wasm entry.
    let entries = index.manifests();
    let wasm: Vec<_> = entries
        .iter()
        .filter(|e| {
            e.platform()
                .as_ref()
                .is_some_and(|p| p.architecture().to_string() == "wasm")
        })
        .collect();
    let entry = match (wasm.as_slice(), entries.as_slice()) {
        ([one], _) => *one,
        ([], [one]) => one,
        _ => {
            return Err(Error::registry(format!(
                "{target}: an image index with {} entries ({} for wasm); pull one by digest",
                entries.len(),
                wasm.len()
            )))
        }
    };
    let digest = entry.digest().to_string();
    let inner = store
        .manifest(&digest)?
        .ok_or_else(|| Error::registry(format!("{target}: index entry {digest} not found")))?;
    let manifest = model::parse_manifest(&inner.bytes)
        .map_err(|e| Error::registry(format!("{target}: manifest {digest}: {e}")))?;
    Ok((inner.digest, manifest))
}

/// The wasm layer of a manifest: exactly one layer of a wasm media type.
pub fn wasm_layer(target: &Target, manifest: &ImageManifest) -> Result<Descriptor> {
    let layers = manifest.layers();
    let wasm: Vec<Descriptor> = layers
        .iter()
        .filter(|l| WASM_LAYERS.contains(&l.media_type().to_string().as_str()))
        .filter_map(|l| Descriptor::try_from(l).ok())
        .collect();
    match wasm.as_slice() {
        [one] => Ok(one.clone()),
        [] => {
            let types: Vec<String> = layers.iter().map(|l| l.media_type().to_string()).collect();
            Err(Error::registry(format!(
                "{target}: not a wasm artifact: no layer of type {} (config {}, layers: {})",
                WASM_LAYERS.join(" or "),
                manifest.config().media_type(),
                if types.is_empty() {
                    "none".to_string()
                } else {
                    types.join(", ")
                }
            )))
        }
        many => Err(Error::registry(format!(
            "{target}: {} wasm layers; a wasm artifact has exactly one",
            many.len()
        ))),
    }
}

/// Pulls the module `target` names into `output` (`-` is standard output; a device or a FIFO
/// is written in place, and only once every byte has matched its digest).
pub fn pull(store: &Store, target: &Target, output: &Path) -> Result<PullReport> {
    let (manifest_digest, manifest) = resolve(store, target)?;
    let layer = wasm_layer(target, &manifest)?;
    let write = |source| Error::Write {
        path: output.to_path_buf(),
        source,
    };
    let mut tmp = crate::fsio::Staged::new(output, true)?;
    // A download cut off halfway (or corrupted on the way) starts again from scratch, twice at
    // most; the registry's own retries cover the request itself.
    let mut attempt = 0;
    loop {
        use std::io::{Seek, Write};
        let file = tmp.file_mut();
        file.set_len(0).map_err(write)?;
        file.rewind().map_err(write)?;
        let mut sink = std::io::BufWriter::with_capacity(1 << 20, file);
        let result = store.download(&layer, &mut sink);
        let result = result.and_then(|()| sink.flush().map_err(write));
        match result {
            Ok(()) => break,
            Err(e) if attempt < 2 && (e.retryable() || matches!(e, Error::Integrity(_))) => {
                attempt += 1
            }
            Err(e) => return Err(e),
        }
    }
    // Only bytes that matched their digest get here; on any error above, `tmp` is deleted.
    tmp.commit()?;
    Ok(PullReport {
        reference: target.with_digest(&manifest_digest).to_string(),
        manifest_digest,
        config_media_type: manifest.config().media_type().to_string(),
        layer_media_type: layer.media_type.clone(),
        digest: layer.digest.clone(),
        size: layer.size,
        output: output.display().to_string(),
    })
}

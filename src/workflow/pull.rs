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

/// The manifest `target` names (following an image index to the entry of `platform`, or to
/// its one wasm entry) and its digest.
pub fn resolve(
    store: &Store,
    target: &Target,
    platform: Option<&str>,
) -> Result<(String, ImageManifest)> {
    follow(store, target, store.fetch(target)?, platform)
}

/// [`resolve`] for a manifest already fetched. `platform` (`wasip2`, or `wasip2/wasm` as oras
/// and crane write it) chooses an image index's entry; it is not needed for an index with one
/// wasm entry, and is not looked at for a plain manifest.
pub fn follow(
    store: &Store,
    target: &Target,
    fetched: Fetched,
    platform: Option<&str>,
) -> Result<(String, ImageManifest)> {
    let index = match model::parse_document(&fetched.bytes)
        .map_err(|e| Error::registry(format!("{target}: manifest: {e}")))?
    {
        Document::Manifest(m) => return Ok((fetched.digest, *m)),
        Document::Index(index) => index,
    };
    let entries = index.manifests();
    let wasm = model::wasm_platforms(&index);
    let listed = || {
        wasm.iter()
            .map(|(os, _)| format!("{os}/wasm"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let entry = match platform {
        Some(p) => {
            let (os, arch) = p.split_once('/').unwrap_or((p, "wasm"));
            if arch != "wasm" {
                return Err(Error::Usage(format!(
                    "--platform {p}: a wasm artifact's platform is OS/wasm (wasip1, wasip2)"
                )));
            }
            match wasm.iter().find(|(o, _)| o == os) {
                Some((_, e)) => e,
                None => {
                    return Err(Error::registry(format!(
                        "{target}: the image index has no entry for {os}/wasm (it has: {})",
                        if wasm.is_empty() {
                            "no wasm entry".to_string()
                        } else {
                            listed()
                        }
                    )))
                }
            }
        }
        None => match (wasm.as_slice(), entries.as_slice()) {
            ([(_, one)], _) => one,
            ([], [one]) => one,
            ([_, _, ..], _) => {
                return Err(Error::Usage(format!(
                    "{target} is an image index for {}: choose one with --platform {}",
                    listed(),
                    wasm.iter()
                        .map(|(os, _)| os.as_str())
                        .collect::<Vec<_>>()
                        .join("|")
                )))
            }
            _ => {
                return Err(Error::registry(format!(
                    "{target}: an image index with {} entries ({} for wasm); pull one by digest",
                    entries.len(),
                    wasm.len()
                )))
            }
        },
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

/// Pulls the module `target` names (an image index's entry for `platform`) into `output` (`-` is standard output; a device or a FIFO
/// is written in place, and only once every byte has matched its digest).
pub fn pull(
    store: &Store,
    target: &Target,
    platform: Option<&str>,
    output: &Path,
) -> Result<PullReport> {
    let (manifest_digest, manifest) = resolve(store, target, platform)?;
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

//! OCI documents as typed values. Manifests and indexes are oci-spec's types
//! (`ImageManifest`, `ImageIndex`), so that a misspelt field does not compile and a digest
//! that is not `sha256:` and 64 lowercase hex digits never becomes a path. Inside wasipack a
//! descriptor travels as [`Descriptor`] (owned strings, sorted annotations: the shape every
//! stage reads and every report prints); this module converts at the edge.
//!
//! Documents are written with sorted keys ([`to_bytes`]): oci-spec keeps annotations in a
//! `HashMap` and fields in declaration order, and the bytes must not depend on either, since
//! a rebuild must give the same digests.

pub use oci_spec::image::{Descriptor as OciDescriptor, ImageIndex, ImageManifest};
use oci_spec::image::{
    DescriptorBuilder, Digest, ImageIndexBuilder, ImageManifestBuilder, MediaType,
};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

pub use oci_spec::image::Platform;

/// An OCI content descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Descriptor {
    #[serde(rename = "mediaType")]
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(rename = "artifactType", skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Descriptor {
    pub fn of(media_type: &str, bytes: &[u8]) -> Descriptor {
        Descriptor {
            media_type: media_type.to_string(),
            digest: crate::digest::sha256_digest(bytes),
            size: bytes.len() as u64,
            artifact_type: None,
            annotations: BTreeMap::new(),
        }
    }

    /// A descriptor for bytes whose SHA-256 (hex) is already known.
    pub fn with_sha256(media_type: &str, sha256: &str, size: u64) -> Descriptor {
        Descriptor {
            media_type: media_type.to_string(),
            digest: format!("sha256:{sha256}"),
            size,
            artifact_type: None,
            annotations: BTreeMap::new(),
        }
    }

    /// The hex part of the digest.
    pub fn hex(&self) -> &str {
        self.digest.trim_start_matches("sha256:")
    }
}

impl<'de> serde::Deserialize<'de> for Descriptor {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        struct Raw {
            #[serde(rename = "mediaType")]
            media_type: String,
            digest: String,
            size: u64,
            #[serde(rename = "artifactType", default)]
            artifact_type: Option<String>,
            #[serde(default)]
            annotations: std::collections::BTreeMap<String, String>,
        }
        let r = Raw::deserialize(d)?;
        check_digest(&r.digest).map_err(serde::de::Error::custom)?;
        Ok(Descriptor {
            media_type: r.media_type,
            digest: r.digest,
            size: r.size,
            artifact_type: r.artifact_type,
            annotations: r.annotations,
        })
    }
}

/// The largest manifest or index read, from a registry or a layout: the distribution spec
/// suggests registries accept at least 4 MiB, and nothing we read is near it.
pub const MAX_MANIFEST: u64 = 4 << 20;

/// Why a document or a descriptor is not one we can use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(pub String);

/// Compact JSON with sorted keys: serialized through `serde_json::Value`, whose maps are
/// ordered.
pub fn to_bytes(value: &impl Serialize) -> Vec<u8> {
    let value = serde_json::to_value(value).expect("OCI documents serialize");
    serde_json::to_vec(&value).expect("a JSON value serializes")
}

/// Checks that `digest` is a SHA-256 digest as OCI writes it: `sha256:` and exactly 64
/// lowercase hex digits. Anything else is refused before it can name a file or a URL.
pub fn check_digest(digest: &str) -> Result<(), Malformed> {
    match digest.strip_prefix("sha256:") {
        Some(hex)
            if hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) =>
        {
            Ok(())
        }
        _ => Err(Malformed(format!(
            "invalid digest `{}`: expected sha256: and 64 lowercase hex digits",
            digest.escape_debug()
        ))),
    }
}

impl TryFrom<&OciDescriptor> for Descriptor {
    type Error = Malformed;

    fn try_from(d: &OciDescriptor) -> Result<Self, Malformed> {
        let digest = d.digest().to_string();
        check_digest(&digest)?;
        Ok(Descriptor {
            media_type: d.media_type().to_string(),
            digest,
            size: d.size(),
            artifact_type: d.artifact_type().as_ref().map(|t| t.to_string()),
            annotations: sorted(d.annotations()),
        })
    }
}

impl TryFrom<&Descriptor> for OciDescriptor {
    type Error = Malformed;

    fn try_from(d: &Descriptor) -> Result<Self, Malformed> {
        check_digest(&d.digest)?;
        let digest: Digest = d
            .digest
            .parse()
            .map_err(|e| Malformed(format!("digest {}: {e}", d.digest)))?;
        let mut b = DescriptorBuilder::default()
            .media_type(MediaType::from(d.media_type.as_str()))
            .digest(digest)
            .size(d.size);
        if let Some(t) = &d.artifact_type {
            b = b.artifact_type(MediaType::from(t.as_str()));
        }
        if !d.annotations.is_empty() {
            b = b.annotations(unsorted(&d.annotations));
        }
        b.build().map_err(|e| Malformed(e.to_string()))
    }
}

/// A descriptor we made (its digest computed by us) as oci-spec's.
pub fn oci(d: &Descriptor) -> OciDescriptor {
    OciDescriptor::try_from(d).expect("descriptors wasipack makes have sha256 digests")
}

/// Annotations, sorted, from oci-spec's optional map.
pub fn sorted(a: &Option<HashMap<String, String>>) -> BTreeMap<String, String> {
    a.as_ref()
        .map(|a| a.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

fn unsorted(a: &BTreeMap<String, String>) -> HashMap<String, String> {
    a.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// An image manifest, as we write them: `schemaVersion` 2 and the OCI manifest media type.
/// `annotations`, when given, are written even when empty (`{}`), as they always were.
pub fn manifest(
    artifact_type: Option<&str>,
    config: &Descriptor,
    layers: &[Descriptor],
    subject: Option<&Descriptor>,
    annotations: Option<&BTreeMap<String, String>>,
) -> ImageManifest {
    let mut b = ImageManifestBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageManifest)
        .config(oci(config))
        .layers(layers.iter().map(oci).collect::<Vec<_>>());
    if let Some(a) = annotations {
        b = b.annotations(unsorted(a));
    }
    if let Some(t) = artifact_type {
        b = b.artifact_type(MediaType::from(t));
    }
    if let Some(s) = subject {
        b = b.subject(oci(s));
    }
    b.build().expect("every required field is set")
}

/// An image index listing `manifests`.
pub fn index(manifests: &[Descriptor]) -> ImageIndex {
    ImageIndexBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageIndex)
        .manifests(manifests.iter().map(oci).collect::<Vec<_>>())
        .build()
        .expect("every required field is set")
}

/// An image index listing `manifests`, each with the platform (`os`, `architecture` `wasm`)
/// given beside it: what a multi-target build tags.
pub fn platform_index(
    manifests: &[(Descriptor, &str)],
    annotations: &BTreeMap<String, String>,
) -> ImageIndex {
    let entries = manifests
        .iter()
        .map(|(d, os)| {
            let mut entry = oci(d);
            entry.set_platform(Some(
                oci_spec::image::PlatformBuilder::default()
                    .architecture(oci_spec::image::Arch::Wasm)
                    .os(oci_spec::image::Os::from(*os))
                    .build()
                    .expect("architecture and os are set"),
            ));
            entry
        })
        .collect::<Vec<_>>();
    let mut b = ImageIndexBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageIndex)
        .manifests(entries);
    if !annotations.is_empty() {
        b = b.annotations(unsorted(annotations));
    }
    b.build().expect("every required field is set")
}

/// The `os` of each entry of `index` that names a wasm platform, in order: what
/// `--platform` chooses among.
pub fn wasm_platforms(index: &ImageIndex) -> Vec<(String, OciDescriptor)> {
    index
        .manifests()
        .iter()
        .filter_map(|e| {
            let p = e.platform().as_ref()?;
            (p.architecture().to_string() == "wasm").then(|| (p.os().to_string(), e.clone()))
        })
        .collect()
}

/// A manifest or an index: a tag may name either.
#[derive(Debug, Clone)]
pub enum Document {
    Manifest(Box<ImageManifest>),
    Index(Box<ImageIndex>),
}

/// Parses a manifest or an index (an index lists `manifests`; a manifest has a `config`).
pub fn parse_document(bytes: &[u8]) -> Result<Document, Malformed> {
    #[derive(serde::Deserialize)]
    struct Probe {
        manifests: Option<serde::de::IgnoredAny>,
    }
    let probe: Probe =
        serde_json::from_slice(bytes).map_err(|e| Malformed(format!("not JSON: {e}")))?;
    if probe.manifests.is_some() {
        parse_index(bytes).map(|i| Document::Index(Box::new(i)))
    } else {
        parse_manifest(bytes).map(|m| Document::Manifest(Box::new(m)))
    }
}

/// The `mediaType` a document says it has, if it says one.
pub fn media_type_of(bytes: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Probe {
        #[serde(rename = "mediaType")]
        media_type: Option<String>,
    }
    serde_json::from_slice::<Probe>(bytes).ok()?.media_type
}

/// Parses an image manifest, checking every digest it names.
pub fn parse_manifest(bytes: &[u8]) -> Result<ImageManifest, Malformed> {
    let m: ImageManifest = serde_json::from_slice(bytes)
        .map_err(|e| Malformed(format!("not an OCI image manifest: {e}")))?;
    for d in std::iter::once(m.config())
        .chain(m.layers())
        .chain(m.subject().as_ref())
    {
        check_digest(d.digest().as_ref())?;
    }
    Ok(m)
}

/// Parses an image index, checking every digest it names.
pub fn parse_index(bytes: &[u8]) -> Result<ImageIndex, Malformed> {
    let i: ImageIndex = serde_json::from_slice(bytes)
        .map_err(|e| Malformed(format!("not an OCI image index: {e}")))?;
    for d in i.manifests() {
        check_digest(d.digest().as_ref())?;
    }
    Ok(i)
}

/// The descriptors of `manifest`'s config and layers, as wasipack's.
pub fn blobs(manifest: &ImageManifest) -> Result<Vec<Descriptor>, Malformed> {
    std::iter::once(manifest.config())
        .chain(manifest.layers())
        .map(Descriptor::try_from)
        .collect()
}

/// The entries of `index`, as wasipack's descriptors.
pub fn entries(index: &ImageIndex) -> Result<Vec<Descriptor>, Malformed> {
    index.manifests().iter().map(Descriptor::try_from).collect()
}

/// The `subject` digest of a manifest, if it has one.
pub fn subject_digest(manifest: &ImageManifest) -> Option<String> {
    manifest.subject().as_ref().map(|s| s.digest().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_that_could_name_another_file_are_refused() {
        let hex = "a".repeat(64);
        assert!(check_digest(&format!("sha256:{hex}")).is_ok());
        for bad in [
            "sha256:../../../outside/file".to_string(),
            format!("sha256:{}", "A".repeat(64)),
            format!("sha256:{}", "a".repeat(63)),
            format!("sha512:{hex}"),
            format!("sha256:{hex}/x"),
            hex.clone(),
        ] {
            assert!(check_digest(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_manifest_naming_a_path_as_a_digest_does_not_parse() {
        let m = br#"{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:../../etc/passwd","size":1},"layers":[]}"#;
        assert!(parse_manifest(m).is_err());
        let i = br#"{"schemaVersion":2,"manifests":[{"mediaType":"x","digest":"sha256:../x","size":1}]}"#;
        assert!(parse_document(i).is_err());
    }

    #[test]
    fn descriptors_survive_the_round_trip() {
        let mut d = Descriptor::of("application/wasm", b"x");
        d.artifact_type = Some("application/spdx+json".into());
        d.annotations.insert("b".into(), "2".into());
        d.annotations.insert("a".into(), "1".into());
        let back = Descriptor::try_from(&oci(&d)).unwrap();
        assert_eq!(back, d);
        assert_eq!(to_bytes(&oci(&d)), to_bytes(&d));
    }
}

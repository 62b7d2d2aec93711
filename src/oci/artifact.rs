//! OCI manifests and configs for wasm modules and the documents that refer to them. Every
//! JSON document is serialised with sorted keys, so equal inputs give equal digests
//! ([`super::model::to_bytes`]).

use super::model;
pub use super::model::Descriptor;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use super::model::to_bytes;

pub const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const WASM_CONFIG: &str = "application/vnd.wasm.config.v0+json";
pub const WASM_LAYER: &str = "application/wasm";
/// Layer media types that hold a wasm module: the CNCF type, then the older ones still seen
/// (wasm-to-oci and `cosign upload wasm`, solo.io and old wasmCloud).
pub const WASM_LAYERS: [&str; 3] = [
    WASM_LAYER,
    "application/vnd.wasm.content.layer.v1+wasm",
    "application/vnd.module.wasm.content.layer.v1+wasm",
];
pub const EMPTY: &str = "application/vnd.oci.empty.v1+json";
pub const SPDX: &str = "application/spdx+json";
pub const CYCLONEDX: &str = "application/vnd.cyclonedx+json";
pub const TITLE: &str = "org.opencontainers.image.title";
pub const CREATED: &str = "org.opencontainers.image.created";
/// What `build` annotates an artifact built from a tree with changes not committed with
/// (`true`, and the commit the tree started from; it then names no
/// `org.opencontainers.image.revision`), and the project's path within its repository.
pub const DIRTY_ANNOTATION: &str = "dev.wasipack.source.dirty";
pub const BASE_REVISION_ANNOTATION: &str = "dev.wasipack.source.base-revision";
pub const PATH_ANNOTATION: &str = "dev.wasipack.source.path";

/// Blob contents, shared: a module's bytes are held once by the build and its artifact.
/// `Bytes`, so that a memory-mapped input file is uploaded without being copied.
pub type Blob = bytes::Bytes;

/// A manifest with its blobs: everything needed to store or push one artifact.
#[derive(Debug, Clone)]
pub struct Artifact {
    pub manifest: Vec<u8>,
    pub descriptor: Descriptor,
    /// Config and layers, as (descriptor, bytes).
    pub blobs: Vec<(Descriptor, Blob)>,
}

/// What goes into a wasm artifact besides the module.
#[derive(Debug, Clone, Default)]
pub struct WasmSpec {
    /// File name for the layer's title annotation, e.g. `hello.wasm`.
    pub title: String,
    /// `wasip1` or `wasip2`.
    pub os: String,
    /// RFC 3339; pinned for reproducible digests.
    pub created: String,
    pub author: Option<String>,
    /// Manifest annotations (`org.opencontainers.image.source`, `revision`, `version`, ...).
    pub annotations: BTreeMap<String, String>,
    /// The `component` config field (wasip2: exports, imports, target world).
    pub component: Option<Component>,
}

/// The CNCF TAG Runtime wasm config (`application/vnd.wasm.config.v0+json`), which oci-spec
/// does not model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WasmConfig {
    pub created: String,
    pub architecture: String,
    pub os: String,
    #[serde(rename = "layerDigests")]
    pub layer_digests: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<Component>,
}

/// A component's world in the wasm config: what it exports and imports, and the world it
/// targets when that is known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Component {
    pub exports: Vec<String>,
    pub imports: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

/// What `build` and a push of a bare `.wasm` both put in the artifact for `module`: `os` from
/// its kind (a component is wasip2) and, for a component, its world.
///
/// `module` may be `None` for a core module, whose artifact needs nothing from a parse.
pub fn wasm_spec(
    title: &str,
    component: bool,
    module: Option<&crate::wasm::inspect::Inspection>,
    created: &str,
    annotations: BTreeMap<String, String>,
) -> WasmSpec {
    WasmSpec {
        title: title.to_string(),
        os: if component { "wasip2" } else { "wasip1" }.into(),
        created: created.to_string(),
        author: None,
        annotations,
        // CNCF layout: `component` is required for wasip2 (exports, imports, target world).
        component: module.filter(|_| component).map(|module| Component {
            target: module.world.clone(),
            exports: module.exports.iter().map(|e| e.name.clone()).collect(),
            imports: module.imports.iter().map(|i| i.module.clone()).collect(),
        }),
    }
}

/// The CNCF Wasm artifact: config `application/vnd.wasm.config.v0+json`, one `application/wasm`
/// layer. `sha256` is the module's digest (hex), which the caller has already computed.
pub fn wasm_artifact(wasm: &Blob, sha256: &str, spec: &WasmSpec) -> Artifact {
    let mut layer = Descriptor::with_sha256(WASM_LAYER, sha256, wasm.len() as u64);
    layer.annotations.insert(TITLE.into(), spec.title.clone());
    let config = to_bytes(&WasmConfig {
        created: spec.created.clone(),
        architecture: "wasm".into(),
        os: spec.os.clone(),
        layer_digests: vec![layer.digest.clone()],
        author: spec.author.clone(),
        component: spec.component.clone(),
    });
    let config_desc = Descriptor::of(WASM_CONFIG, &config);
    let mut annotations = spec.annotations.clone();
    annotations
        .entry(CREATED.into())
        .or_insert_with(|| spec.created.clone());
    let manifest = model::manifest(
        None,
        &config_desc,
        &[layer.clone()],
        None,
        Some(&annotations),
    );
    finish(
        &manifest,
        vec![(config_desc, Blob::from(config)), (layer, wasm.clone())],
        None,
    )
}

/// The image index of a multi-target build: each artifact under its platform (`os` as given,
/// `architecture` `wasm`), with the `created` annotation. It has no blobs of its own.
pub fn platform_index(entries: &[(Descriptor, &str)], created: &str) -> Artifact {
    let annotations = BTreeMap::from([(CREATED.to_string(), created.to_string())]);
    let manifest = to_bytes(&model::platform_index(entries, &annotations));
    Artifact {
        descriptor: Descriptor::of(INDEX, &manifest),
        manifest,
        blobs: Vec::new(),
    }
}

/// A document (an SBOM) that refers to `subject`, as OCI 1.1 artifact guidance shapes it: the
/// empty config, one layer, `artifactType`, and `subject`.
pub fn referrer(
    subject: &Descriptor,
    artifact_type: &str,
    title: &str,
    document: &[u8],
    created: &str,
) -> Artifact {
    let mut layer = Descriptor::of(artifact_type, document);
    layer.annotations.insert(TITLE.into(), title.into());
    let annotations = BTreeMap::from([(CREATED.to_string(), created.to_string())]);
    let mut a = referrer_of(
        subject,
        artifact_type,
        (layer, Blob::from(document.to_vec())),
        annotations,
        None,
    );
    a.descriptor
        .annotations
        .insert(CREATED.into(), created.into());
    a
}

/// The shape every referrer shares: the empty config (whose descriptor names
/// `config_artifact_type` when given, as cosign v3 writes it), one layer, `artifactType`,
/// `subject` (its media type, digest and size only) and the manifest `annotations`.
pub fn referrer_of(
    subject: &Descriptor,
    artifact_type: &str,
    layer: (Descriptor, Blob),
    annotations: BTreeMap<String, String>,
    config_artifact_type: Option<&str>,
) -> Artifact {
    let empty = b"{}".to_vec();
    let mut config = Descriptor::of(EMPTY, &empty);
    config.artifact_type = config_artifact_type.map(str::to_string);
    let subject = Descriptor {
        media_type: subject.media_type.clone(),
        digest: subject.digest.clone(),
        size: subject.size,
        artifact_type: None,
        annotations: BTreeMap::new(),
    };
    let manifest = model::manifest(
        Some(artifact_type),
        &config,
        std::slice::from_ref(&layer.0),
        Some(&subject),
        Some(&annotations),
    );
    finish(
        &manifest,
        vec![(config, Blob::from(empty)), layer],
        Some(artifact_type),
    )
}

fn finish(
    manifest: &oci_spec::image::ImageManifest,
    blobs: Vec<(Descriptor, Blob)>,
    artifact_type: Option<&str>,
) -> Artifact {
    let manifest = to_bytes(manifest);
    let mut descriptor = Descriptor::of(MANIFEST, &manifest);
    descriptor.artifact_type = artifact_type.map(str::to_string);
    Artifact {
        manifest,
        descriptor,
        blobs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::sha256_hex;
    use serde_json::Value;

    fn spec() -> WasmSpec {
        WasmSpec {
            title: "hello.wasm".into(),
            os: "wasip1".into(),
            created: "2024-01-01T00:00:00Z".into(),
            ..Default::default()
        }
    }

    #[test]
    fn wasm_artifact_has_the_cncf_shape_and_a_stable_digest() {
        let a = wasm_artifact(
            &Blob::from(b"\0asm\x01\0\0\0".to_vec()),
            &sha256_hex(b"\0asm\x01\0\0\0"),
            &spec(),
        );
        let m: Value = serde_json::from_slice(&a.manifest).unwrap();
        assert_eq!(m["config"]["mediaType"], WASM_CONFIG);
        assert_eq!(m["layers"].as_array().unwrap().len(), 1);
        assert_eq!(m["layers"][0]["mediaType"], WASM_LAYER);
        assert_eq!(m["layers"][0]["annotations"][TITLE], "hello.wasm");
        let config: Value = serde_json::from_slice(&a.blobs[0].1).unwrap();
        assert_eq!(config["architecture"], "wasm");
        assert_eq!(config["layerDigests"][0], m["layers"][0]["digest"]);
        assert_eq!(
            a.descriptor,
            wasm_artifact(
                &Blob::from(b"\0asm\x01\0\0\0".to_vec()),
                &sha256_hex(b"\0asm\x01\0\0\0"),
                &spec()
            )
            .descriptor
        );
    }

    #[test]
    fn a_referrer_points_at_its_subject() {
        let a = wasm_artifact(
            &Blob::from(b"\0asm\x01\0\0\0".to_vec()),
            &sha256_hex(b"\0asm\x01\0\0\0"),
            &spec(),
        );
        let r = referrer(
            &a.descriptor,
            SPDX,
            "hello.spdx.json",
            b"{}",
            "2024-01-01T00:00:00Z",
        );
        let m: Value = serde_json::from_slice(&r.manifest).unwrap();
        assert_eq!(m["subject"]["digest"], a.descriptor.digest.as_str());
        assert_eq!(m["artifactType"], SPDX);
        assert_eq!(
            m["config"]["digest"],
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
    }
}

#[cfg(test)]
mod pinned {
    use super::*;

    /// The bytes of what we write are part of the contract (a rebuild must give the same
    /// digests): these digests were taken before manifests were built from typed models.
    #[test]
    fn manifests_keep_their_bytes() {
        let module = b"\0asm\x01\0\0\0";
        let mut spec = WasmSpec {
            title: "hello.wasm".into(),
            os: "wasip2".into(),
            created: "2024-01-01T00:00:00Z".into(),
            author: Some("someone".into()),
            ..Default::default()
        };
        spec.annotations
            .insert("org.opencontainers.image.revision".into(), "abc".into());
        spec.component = Some(Component {
            exports: vec!["run".into()],
            imports: vec!["wasi:cli/env".into()],
            target: None,
        });
        let a = wasm_artifact(
            &Blob::from(module.to_vec()),
            &crate::digest::sha256_hex(module),
            &spec,
        );
        let r = referrer(
            &a.descriptor,
            SPDX,
            "hello.spdx.json",
            b"{}",
            "2024-01-01T00:00:00Z",
        );
        let bundle = referrer_of(
            &a.descriptor,
            "application/vnd.dev.sigstore.bundle.v0.3+json",
            (
                Descriptor::of("application/vnd.dev.sigstore.bundle.v0.3+json", b"{}"),
                Blob::from_static(b"{}"),
            ),
            BTreeMap::new(),
            Some("application/vnd.dev.sigstore.bundle.v0.3+json"),
        );
        let got = [
            String::from_utf8(a.blobs[0].1.to_vec()).unwrap(),
            a.descriptor.digest.clone(),
            r.descriptor.digest.clone(),
            bundle.descriptor.digest.clone(),
        ];
        assert_eq!(
            got,
            [
                r#"{"architecture":"wasm","author":"someone","component":{"exports":["run"],"imports":["wasi:cli/env"]},"created":"2024-01-01T00:00:00Z","layerDigests":["sha256:93a44bbb96c751218e4c00d479e4c14358122a389acca16205b1e4d0dc5f9476"],"os":"wasip2"}"#,
                "sha256:cc2468c572f831931c1ab21a812a60699a53c134710399e2a75d3a2464115e23",
                "sha256:acd5b7c7b90846dfcc1a4e4364395a51a193e8552c8eb119e65d8d6d5f854c4a",
                "sha256:baaf89580b0dd27632aac46e5752236560ae82604f81b22063fb5b323e86d3dc",
            ]
        );
    }
}

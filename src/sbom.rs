//! The SBOM stage: the Go modules inside a wasm module, as SPDX 2.3 and CycloneDX 1.5 JSON
//! documents whose subject is the module's SHA-256.
//!
//! Two sources: the build info Go embeds in every binary (the modules of the packages linked,
//! with go.sum hashes; read at build time when complete, and for modules built elsewhere: syft
//! and cyclonedx-gomod cannot read it from wasm, golang/go#73741), or `go list -deps -json` at
//! build time where that record is not complete (`build::toolchain::modules_from_build_info`).

use crate::wasm::modinfo::{GoBuildInfo, GoModule};
use base64::Engine;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// One Go module in the SBOM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    pub path: String,
    pub version: String,
    /// The go.sum `h1:` hash, when known.
    pub sum: Option<String>,
    /// What the build really compiled, when go.mod replaced this module.
    pub replace: Option<Box<Component>>,
}

impl Component {
    pub(crate) fn from_go(m: &GoModule) -> Component {
        Component {
            path: m.path.clone(),
            version: m.version.clone(),
            sum: m.sum.clone(),
            replace: m
                .replace
                .as_deref()
                .map(|r| Box::new(Component::from_go(r))),
        }
    }

    /// The module whose code was compiled: the replacement when it is a module version, this
    /// one otherwise (a directory replacement has no version of its own).
    fn compiled(&self) -> &Component {
        match &self.replace {
            Some(r) if !r.version.is_empty() => r,
            _ => self,
        }
    }

    /// `pkg:golang/PATH@VERSION?type=module`, or without a version for a local replacement.
    /// Each `/`-separated segment of the path (lower-cased, as the golang purl type asks) and
    /// the version are percent-encoded as the purl specification requires.
    pub fn purl(&self) -> String {
        let c = self.compiled();
        let path = c
            .path
            .to_lowercase()
            .split('/')
            .map(percent_encode)
            .collect::<Vec<_>>()
            .join("/");
        if c.version.is_empty()
            || c.version == "(devel)"
            || self.replace.as_ref().is_some_and(|r| r.version.is_empty())
        {
            format!("pkg:golang/{path}?type=module")
        } else {
            format!(
                "pkg:golang/{path}@{}?type=module",
                percent_encode(&c.version)
            )
        }
    }

    /// The `h1:` hash of the code that was compiled.
    pub fn compiled_sum(&self) -> Option<&str> {
        self.compiled().sum.as_deref()
    }

    /// The SHA-256 inside the `h1:` hash, as lower-case hex.
    pub fn sha256(&self) -> Option<String> {
        let sum = self.compiled().sum.as_deref()?.strip_prefix("h1:")?;
        let raw = base64::engine::general_purpose::STANDARD.decode(sum).ok()?;
        (raw.len() == 32).then(|| hex(&raw))
    }
}

/// A binary that was not compiled from Go source but is built into the artifact (the wasip1
/// adapter of a Go component): listed with its version, purl and digest.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Embedded {
    /// The file it is, e.g. `wasi_snapshot_preview1.reactor.wasm`.
    pub name: String,
    pub version: String,
    /// Where it comes from, e.g. `pkg:cargo/wasi-preview1-component-adapter-provider@50.0.1`.
    pub purl: String,
    /// SHA-256 of its bytes, hex.
    pub sha256: String,
}

/// What an SBOM describes.
#[derive(Debug, Clone)]
pub struct Sbom {
    /// The artifact's file name, e.g. `hello.wasm`.
    pub name: String,
    /// SHA-256 of the final module, hex.
    pub sha256: String,
    /// The main module (the source the artifact was built from).
    pub main: Option<Component>,
    /// Every other module linked in, sorted by path.
    pub deps: Vec<Component>,
    /// `go1.26.8`, when known.
    pub go_version: Option<String>,
    /// RFC 3339 creation time (pinned by SOURCE_DATE_EPOCH for reproducible documents).
    pub created: String,
    /// Binaries built into the artifact besides the Go code.
    pub embedded: Vec<Embedded>,
}

impl Sbom {
    /// From the build info embedded in a Go binary.
    pub fn from_build_info(
        info: &GoBuildInfo,
        name: &str,
        sha256: &str,
        go_version: Option<String>,
        created: String,
    ) -> Sbom {
        let mut deps: Vec<Component> = info.deps.iter().map(Component::from_go).collect();
        deps.sort_by(|a, b| a.path.cmp(&b.path));
        Sbom {
            name: name.to_string(),
            sha256: sha256.to_string(),
            main: info.main.as_ref().map(Component::from_go),
            deps,
            go_version,
            created,
            embedded: Vec::new(),
        }
    }

    /// The Go standard library as a component (`pkg:golang/stdlib@1.26.8`, as syft names it).
    fn stdlib(&self) -> Option<(String, String)> {
        let version = self.go_version.as_deref()?.strip_prefix("go")?.to_string();
        let purl = format!("pkg:golang/stdlib@{}", percent_encode(&version));
        Some((version, purl))
    }

    /// A stable unique id for this document: the same inputs give the same id, so that
    /// reproducible builds give identical SBOMs.
    fn uuid(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(self.name.as_bytes());
        h.update(self.sha256.as_bytes());
        h.update(self.created.as_bytes());
        let d = h.finalize();
        let mut b: [u8; 16] = d[..16].try_into().expect("16 bytes");
        b[6] = (b[6] & 0x0f) | 0x80; // version 8: custom (RFC 9562)
        b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
        let x = hex(&b);
        format!(
            "{}-{}-{}-{}-{}",
            &x[..8],
            &x[8..12],
            &x[12..16],
            &x[16..20],
            &x[20..]
        )
    }

    /// SPDX 2.3 JSON.
    pub fn spdx(&self) -> Value {
        let mut packages = vec![json!({
            "SPDXID": "SPDXRef-Artifact",
            "name": self.name,
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": false,
            "primaryPackagePurpose": "APPLICATION",
            "checksums": [{ "algorithm": "SHA256", "checksumValue": self.sha256 }],
        })];
        let mut relationships = vec![json!({
            "spdxElementId": "SPDXRef-DOCUMENT",
            "relationshipType": "DESCRIBES",
            "relatedSpdxElement": "SPDXRef-Artifact",
        })];
        let mut ids = BTreeMap::new();
        let mut add = |c: &Component, relationship: &str, purpose: &str| {
            let id = unique_id(
                &mut ids,
                &format!(
                    "SPDXRef-Package-{}-{}",
                    spdx_id(&c.path),
                    spdx_id(&c.compiled().version)
                ),
            );
            let mut p = json!({
                "SPDXID": id,
                "name": c.path,
                "versionInfo": c.compiled().version,
                "downloadLocation": "NOASSERTION",
                "filesAnalyzed": false,
                "primaryPackagePurpose": purpose,
                "externalRefs": [{
                    "referenceCategory": "PACKAGE-MANAGER",
                    "referenceType": "purl",
                    "referenceLocator": c.purl(),
                }],
            });
            if let Some(sha) = c.sha256() {
                p["checksums"] = json!([{ "algorithm": "SHA256", "checksumValue": sha }]);
            }
            if let Some(r) = &c.replace {
                p["comment"] = json!(format!("replaced by {} {}", r.path, r.version)
                    .trim_end()
                    .to_string());
            }
            packages.push(p);
            relationships.push(json!({
                "spdxElementId": "SPDXRef-Artifact",
                "relationshipType": relationship,
                "relatedSpdxElement": id,
            }));
        };
        if let Some(main) = &self.main {
            add(main, "GENERATED_FROM", "SOURCE");
        }
        for dep in &self.deps {
            add(dep, "DEPENDS_ON", "LIBRARY");
        }
        if let Some((version, purl)) = self.stdlib() {
            packages.push(json!({
                "SPDXID": "SPDXRef-Package-stdlib",
                "name": "stdlib",
                "versionInfo": version,
                "downloadLocation": "NOASSERTION",
                "filesAnalyzed": false,
                "primaryPackagePurpose": "LIBRARY",
                "externalRefs": [{ "referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": purl }],
            }));
            relationships.push(json!({
                "spdxElementId": "SPDXRef-Artifact",
                "relationshipType": "DEPENDS_ON",
                "relatedSpdxElement": "SPDXRef-Package-stdlib",
            }));
        }
        for e in &self.embedded {
            let id = unique_id(
                &mut ids,
                &format!(
                    "SPDXRef-Package-{}-{}",
                    spdx_id(&e.name),
                    spdx_id(&e.version)
                ),
            );
            packages.push(json!({
                "SPDXID": id,
                "name": e.name,
                "versionInfo": e.version,
                "downloadLocation": "NOASSERTION",
                "filesAnalyzed": false,
                "primaryPackagePurpose": "LIBRARY",
                "checksums": [{ "algorithm": "SHA256", "checksumValue": e.sha256 }],
                "externalRefs": [{ "referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": e.purl }],
            }));
            relationships.push(json!({
                "spdxElementId": "SPDXRef-Artifact",
                "relationshipType": "CONTAINS",
                "relatedSpdxElement": id,
            }));
        }
        json!({
            "spdxVersion": "SPDX-2.3",
            "dataLicense": "CC0-1.0",
            "SPDXID": "SPDXRef-DOCUMENT",
            "name": self.name,
            "documentNamespace": format!("urn:uuid:{}", self.uuid()),
            "creationInfo": {
                "created": self.created,
                "creators": [format!("Tool: wasipack-{}", env!("CARGO_PKG_VERSION"))],
            },
            "packages": packages,
            "relationships": relationships,
        })
    }

    /// CycloneDX 1.5 JSON.
    pub fn cyclonedx(&self) -> Value {
        let mut components = Vec::new();
        let mut depends = Vec::new();
        let mut refs = BTreeMap::new();
        let mut add = |c: &Component, scope: Option<&str>| {
            let bom_ref = unique_id(&mut refs, &c.purl());
            let mut comp = json!({
                "type": "library",
                "bom-ref": bom_ref,
                "name": c.path,
                "version": c.compiled().version,
                "purl": c.purl(),
            });
            if let Some(sha) = c.sha256() {
                comp["hashes"] = json!([{ "alg": "SHA-256", "content": sha }]);
            }
            if let Some(scope) = scope {
                comp["scope"] = json!(scope);
            }
            components.push(comp);
            depends.push(bom_ref);
        };
        if let Some(main) = &self.main {
            add(main, None);
        }
        for dep in &self.deps {
            add(dep, Some("required"));
        }
        if let Some((version, purl)) = self.stdlib() {
            components.push(json!({ "type": "library", "bom-ref": purl, "name": "stdlib", "version": version, "purl": purl }));
            depends.push(purl);
        }
        for e in &self.embedded {
            let bom_ref = unique_id(&mut refs, &e.purl);
            components.push(json!({
                "type": "library",
                "bom-ref": bom_ref,
                "name": e.name,
                "version": e.version,
                "purl": e.purl,
                "hashes": [{ "alg": "SHA-256", "content": e.sha256 }],
                "scope": "required",
            }));
            depends.push(bom_ref);
        }
        json!({
            "bomFormat": "CycloneDX",
            "specVersion": "1.5",
            "serialNumber": format!("urn:uuid:{}", self.uuid()),
            "version": 1,
            "metadata": {
                "timestamp": self.created,
                "tools": { "components": [{ "type": "application", "name": "wasipack", "version": env!("CARGO_PKG_VERSION") }] },
                "component": {
                    "type": "application",
                    "bom-ref": "artifact",
                    "name": self.name,
                    "hashes": [{ "alg": "SHA-256", "content": self.sha256 }],
                },
            },
            "components": components,
            "dependencies": [{ "ref": "artifact", "dependsOn": depends }],
        })
    }
}

/// `text` with every byte but the URL unreserved ones (`A-Z a-z 0-9 - . _ ~`) written `%XX`.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// An SPDX id fragment: only `[A-Za-z0-9.-]` (`+incompatible`, `(devel)` and `/` are not).
fn spdx_id(text: &str) -> String {
    let id: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    id.trim_matches('-').to_string()
}

/// `base`, or `base-2`, `base-3`... when already taken.
fn unique_id(taken: &mut BTreeMap<String, usize>, base: &str) -> String {
    let n = taken.entry(base.to_string()).or_insert(0);
    *n += 1;
    if *n == 1 {
        base.to_string()
    } else {
        format!("{base}-{n}")
    }
}

use crate::digest::hex;

/// RFC 3339 (UTC, seconds) for a Unix time.
pub fn rfc3339(unix: i64) -> Option<String> {
    let t = time::OffsetDateTime::from_unix_timestamp(unix).ok()?;
    t.format(&time::format_description::well_known::Rfc3339)
        .ok()
}

/// Why no creation time could be stamped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// `SOURCE_DATE_EPOCH` is set to something that is not a Unix time in seconds.
    #[error("SOURCE_DATE_EPOCH=`{0}` is not a Unix time in seconds")]
    SourceDateEpoch(String),
    /// The system clock is before 1970 or past what RFC 3339 can write.
    #[error("{0}")]
    Clock(String),
}

/// For callers that still report errors as text.
impl From<TimeError> for String {
    fn from(e: TimeError) -> String {
        e.to_string()
    }
}

/// The creation time to stamp: `SOURCE_DATE_EPOCH` when set (an error if it is not a number),
/// else now.
pub fn created_now_or_epoch() -> Result<String, TimeError> {
    created_at(std::env::var("SOURCE_DATE_EPOCH").ok())
}

/// [`created_now_or_epoch`] with `epoch` standing for `SOURCE_DATE_EPOCH`.
pub fn created_at(epoch: Option<String>) -> Result<String, TimeError> {
    match epoch {
        Some(v) => v
            .trim()
            .parse::<i64>()
            .ok()
            .and_then(rfc3339)
            .ok_or(TimeError::SourceDateEpoch(v)),
        None => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_err(|e| TimeError::Clock(e.to_string()))?;
            rfc3339(now.as_secs() as i64)
                .ok_or_else(|| TimeError::Clock("clock out of range".into()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Sbom {
        let info = crate::wasm::modinfo::parse(
            "path\texample.com/app\nmod\texample.com/app\t(devel)\t\n\
             dep\tgithub.com/google/uuid\tv1.6.0\th1:NIvaJDMOsjHA8n1jAhLSgzrAzy1Hgr+hNrb57e+94F0=\n\
             dep\texample.com/old\tv0.1.0+incompatible\th1:x\n=>\texample.com/new\tv0.2.0\th1:NIvaJDMOsjHA8n1jAhLSgzrAzy1Hgr+hNrb57e+94F0=\n",
        );
        Sbom::from_build_info(
            &info,
            "app.wasm",
            &"ab".repeat(32),
            Some("go1.26.8".into()),
            rfc3339(0).unwrap(),
        )
    }

    #[test]
    fn purls_hashes_and_replacements() {
        let s = sample();
        let uuid = &s.deps[1];
        assert_eq!(
            uuid.purl(),
            "pkg:golang/github.com/google/uuid@v1.6.0?type=module"
        );
        assert_eq!(
            uuid.sha256().unwrap(),
            "348bda24330eb231c0f27d630212d2833ac0cf2d4782bfa136b6f9edefbde05d"
        );
        let old = &s.deps[0];
        assert_eq!(old.purl(), "pkg:golang/example.com/new@v0.2.0?type=module");
        assert_eq!(s.created, "1970-01-01T00:00:00Z");
    }

    #[test]
    fn spdx_ids_are_sanitized_and_documents_are_deterministic() {
        let s = sample();
        let doc = s.spdx();
        let ids: Vec<&str> = doc["packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["SPDXID"].as_str().unwrap())
            .collect();
        for id in &ids {
            assert!(
                id.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'),
                "{id}"
            );
        }
        assert!(
            ids.contains(&"SPDXRef-Package-example.com-old-v0.2.0"),
            "{ids:?}"
        );
        assert_eq!(doc, sample().spdx());
        assert_eq!(
            s.cyclonedx()["serialNumber"],
            sample().cyclonedx()["serialNumber"]
        );
    }

    #[test]
    fn purls_percent_encode_odd_paths_and_versions() {
        let purl = |path: &str, version: &str| {
            Component {
                path: path.into(),
                version: version.into(),
                sum: None,
                replace: None,
            }
            .purl()
        };
        assert_eq!(
            purl("example.com/Old/Lib", "v2.0.0+incompatible"),
            "pkg:golang/example.com/old/lib@v2.0.0%2Bincompatible?type=module"
        );
        assert_eq!(
            purl("example.com/a+b/c@d/100%/~user_x", "v0.0.0-20240101000000-abcdef012345"),
            "pkg:golang/example.com/a%2Bb/c%40d/100%25/~user_x@v0.0.0-20240101000000-abcdef012345?type=module"
        );
        assert_eq!(
            purl("example.com/π", "v1.0.0"),
            "pkg:golang/example.com/%CF%80@v1.0.0?type=module"
        );
        assert_eq!(
            purl("example.com/x", "(devel)"),
            "pkg:golang/example.com/x?type=module"
        );
    }
}

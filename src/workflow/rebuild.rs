//! `rebuild`: an artifact built again from its source by what its signed SLSA provenance
//! records, and compared with it. The provenance is verified first; the source is fetched at
//! the recorded commit into a fresh temporary tree; the Go release must be the recorded one;
//! the module is built with the recorded settings and environment; then the module, the SBOMs
//! and the manifest are compared, the module section by section. With a signer, a SLSA
//! verification summary is attached to what was reproduced (never to what was not).

use super::pull;
use super::verify::{verified_statement, Trust, VERIFICATION_SUMMARY};
use crate::build::{self, config::Settings, Plan};
use crate::error::{Error, RebuildError, Result};
use crate::oci::store::Store;
use crate::oci::Target;
use crate::sign::provenance::{Recorded, SLSA_V1};
use crate::sign::{self, Signed, Signing};
use serde::Serialize;
use serde_json::json;
use std::path::Path;
use std::process::Command;

/// How to rebuild.
pub struct Options<'a> {
    /// Whose provenance to trust: a key, or a keyless identity.
    pub trust: Trust<'a>,
    /// The `go` program.
    pub go: String,
    /// Let Go fetch the recorded release (`GOTOOLCHAIN=goX.Y.Z`) when the local one differs;
    /// otherwise `GOTOOLCHAIN=local` and a different release cannot judge.
    pub allow_toolchain_download: bool,
    /// Fetch the source from here instead of the recorded URI (a mirror, a local clone).
    pub source: Option<String>,
}

/// One output compared.
#[derive(Debug, Clone, Serialize)]
pub struct Compared {
    pub output: String,
    pub expected: String,
    pub rebuilt: String,
    pub same: bool,
}

/// What a rebuild found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub reference: String,
    pub digest: String,
    pub source: String,
    pub commit: String,
    pub dirty: bool,
    /// The Go release the module was rebuilt with: the recorded one.
    pub toolchain: String,
    /// The release of the local `go` (`GOTOOLCHAIN=local`).
    pub local_toolchain: String,
    /// Whether Go fetched the recorded release (`--allow-toolchain-download`, with a local
    /// `go` of another release) and built with it (`GOTOOLCHAIN=goX.Y.Z`).
    pub toolchain_fetched: bool,
    pub reproduced: bool,
    pub outputs: Vec<Compared>,
    /// The first output that differs, and where (`hello.wasm: the code section`).
    pub difference: Option<String>,
    /// The verification summary attached (`--sign`), when there is one.
    pub summary: Vec<Signed>,
}

/// Rebuilds what `target` names. An artifact that does not reproduce is a report with
/// `reproduced: false`; what keeps the rebuild from judging is an error ([`RebuildError`]).
pub fn rebuild(
    store: &Store,
    target: &Target,
    opts: &Options<'_>,
    observer: &dyn build::Observer,
) -> Result<Report> {
    let (digest, manifest) = pull::resolve(store, target, None)?;
    let reference = target.with_digest(&digest).to_string();
    let statement = verified_statement(store, &digest, opts.trust, SLSA_V1)?
        .map_err(|why| RebuildError::NoProvenance {
            reference: reference.clone(),
            why,
        })?
        .1;
    let recorded = Recorded::read(&statement["predicate"]);
    let incomplete = |why: &str| RebuildError::Incomplete {
        reference: reference.clone(),
        why: why.into(),
    };
    let source = recorded
        .source
        .clone()
        .ok_or_else(|| incomplete("it names no source repository"))?;
    let commit = recorded
        .revision
        .clone()
        .or_else(|| recorded.base_revision.clone())
        .ok_or_else(|| incomplete("it names no commit"))?;
    let configuration = recorded.configuration.clone().ok_or_else(|| {
        incomplete("it records no build configuration (a bare module, not a `wasipack build`)")
    })?;
    let settings: Settings = serde_json::from_value(configuration)
        .map_err(|e| incomplete(&format!("its configuration: {e}")))?;
    if settings.toolchain == Some(build::config::Toolchain::Tinygo) {
        return Err(incomplete("rebuild supports Go builds; this one used TinyGo").into());
    }

    // The toolchain first: a different release cannot judge, and costs nothing to find out.
    let toolchain = toolchain(
        &opts.go,
        &recorded.toolchain_version,
        opts.allow_toolchain_download,
    )?;

    // The source at the commit, in a fresh tree, with the remote and tag the build saw.
    let tmp = tempfile::tempdir().map_err(|source| Error::Write {
        path: std::env::temp_dir(),
        source,
    })?;
    let tree = tmp.path().join("src");
    let fetch_from = opts.source.clone().unwrap_or_else(|| source.clone());
    let git_error = |message: String| RebuildError::Source {
        uri: fetch_from.clone(),
        message,
    };
    git(
        tmp.path(),
        &[
            "clone",
            "--quiet",
            "--no-tags",
            "--no-checkout",
            &fetch_from,
            &tree.display().to_string(),
        ],
    )
    .map_err(git_error)?;
    git(&tree, &["checkout", "--quiet", "--detach", &commit]).map_err(git_error)?;
    if fetch_from != source {
        git(&tree, &["remote", "set-url", "origin", &source]).map_err(git_error)?;
    }
    let annotations = crate::oci::model::sorted(manifest.annotations());
    if let Some(version) = annotations.get("org.opencontainers.image.version") {
        git(&tree, &["tag", version]).map_err(git_error)?;
    }

    // The build, with the recorded settings and environment, in memory.
    let dir = tree.join(&recorded.path);
    let plan = Plan::resolve(settings, &dir)?;
    let mut env: Vec<(String, String)> = recorded.inherited_env.clone().into_iter().collect();
    if let Some(epoch) = &recorded.source_date_epoch {
        env.push(("SOURCE_DATE_EPOCH".into(), epoch.clone()));
    }
    env.push(("GOTOOLCHAIN".into(), toolchain.gotoolchain.clone()));
    let options = build::Options {
        dir: dir.clone(),
        // Nothing is written: the outputs are compared in memory.
        output: tmp.path().join("out"),
        jobs: 1,
        verify_reproducible: false,
        reuse: false,
        cache: false,
        go_version: Some(recorded.toolchain_version.clone()),
        go: opts.go.clone(),
        tinygo: "tinygo".into(),
        env,
    };
    let built = match build::build_in_memory(std::slice::from_ref(&plan), &options, observer) {
        Ok(mut built) => built.remove(0),
        Err(build::Failure::Error(e)) => return Err(e),
        Err(build::Failure::Rejected(_)) => {
            return Err(Error::Input(format!(
                "{reference}: the rebuilt module breaks its policy `{}`",
                plan.policy.name
            )))
        }
    };
    let wasm_name = format!("{}.wasm", built.plan_name);
    let digests = built.output_digests();

    // The module, the recorded outputs, the manifest: the first difference named.
    let mut outputs = Vec::new();
    let mut difference = None;
    let layer = pull::wasm_layer(target, &manifest)?;
    let rebuilt_module = format!("sha256:{}", built.check.module.sha256);
    let same = layer.digest == rebuilt_module;
    if !same {
        let theirs = store.blob(&layer)?;
        difference = Some(format!(
            "{wasm_name}: {}",
            build::differing_section(&theirs, &built.wasm)
        ));
    }
    outputs.push(Compared {
        output: format!("{wasm_name} (the artifact's module)"),
        expected: layer.digest.clone(),
        rebuilt: rebuilt_module,
        same,
    });
    for (name, expected) in &recorded.outputs {
        let rebuilt = digests.get(name).cloned().unwrap_or_default();
        let same = &rebuilt == expected;
        if !same && difference.is_none() {
            difference = Some(format!("{name}: its digest"));
        }
        outputs.push(Compared {
            output: name.clone(),
            expected: expected.clone(),
            rebuilt,
            same,
        });
    }
    let rebuilt_manifest = &built.artifact.descriptor.digest;
    let same = *rebuilt_manifest == digest;
    if !same && difference.is_none() {
        let theirs = store
            .manifest(&digest)?
            .map(|f| f.bytes.to_vec())
            .unwrap_or_default();
        difference = Some(format!(
            "the manifest: {}",
            manifest_difference(&theirs, &built.artifact.manifest)
        ));
    }
    outputs.push(Compared {
        output: "manifest".into(),
        expected: digest.clone(),
        rebuilt: rebuilt_manifest.clone(),
        same,
    });
    Ok(Report {
        reference,
        digest,
        source,
        commit,
        dirty: recorded.dirty,
        toolchain: recorded.toolchain_version,
        local_toolchain: toolchain.local,
        toolchain_fetched: toolchain.fetched,
        reproduced: difference.is_none(),
        outputs,
        difference,
        summary: Vec::new(),
    })
}

/// The SLSA verification summary of a rebuild that reproduced the artifact.
pub fn summary_predicate(report: &Report) -> serde_json::Value {
    json!({
        "verifier": {
            "id": format!("https://github.com/wasipack/wasipack/rebuild@v{}", env!("CARGO_PKG_VERSION")),
            "version": { "wasipack": env!("CARGO_PKG_VERSION") },
        },
        "timeVerified": crate::sbom::created_now_or_epoch().unwrap_or_default(),
        "resourceUri": report.reference,
        "policy": { "uri": POLICY },
        "inputAttestations": [],
        "verificationResult": if report.reproduced { "PASSED" } else { "FAILED" },
        "verifiedLevels": [REPRODUCED_LEVEL],
        "slsaVersion": "1.0",
        "reproducedFrom": {
            "source": report.source,
            "commit": report.commit,
            "toolchain": report.toolchain,
            "outputs": report.outputs,
        },
    })
}

/// The policy a rebuild checks: the artifact's module, SBOMs and manifest built again from the
/// recorded source, toolchain and configuration, byte for byte.
pub const POLICY: &str = "https://github.com/wasipack/wasipack/rebuild/v1";
/// What a summary says was verified (custom levels must not start with `SLSA_`).
pub const REPRODUCED_LEVEL: &str = "WASIPACK_REPRODUCED";

/// Attaches the verification summary of `report` (which must say reproduced) to the artifact:
/// with a key, an `.att` layer and a Sigstore bundle referrer, beside the other attestations;
/// keyless, a bundle referrer (a keyless signature has no place in `.att`).
pub fn attach_summary(
    store: &Store,
    target: &Target,
    report: &Report,
    signer: &Signing,
) -> Result<Vec<Signed>> {
    if !report.reproduced {
        return Err(Error::Usage(
            "a verification summary is attached only to what was reproduced".into(),
        ));
    }
    let mode = match signer {
        Signing::Keyless(_) => sign::Mode::Bundles,
        Signing::Key(_) | Signing::KeyLogged(..) => sign::Mode::Both,
    };
    let by_digest = target.with_digest(&report.digest);
    sign::attest_all(
        store,
        &by_digest,
        signer,
        &[(VERIFICATION_SUMMARY.into(), summary_predicate(report))],
        mode,
    )
}

/// The Go release a rebuild runs, and how it was had.
struct Toolchain {
    /// The `GOTOOLCHAIN` the build runs with: `local`, or the recorded release to fetch.
    gotoolchain: String,
    /// The local `go`'s own release.
    local: String,
    fetched: bool,
}

/// The recorded release `needed`: the local `go` when it is that release; else, when
/// `download` allows it, the release Go fetches through its module proxy (`GOTOOLCHAIN=needed`,
/// asked once here so that a failed download is told as such before any source is fetched);
/// else exit 2 naming the release.
fn toolchain(go: &str, needed: &str, download: bool) -> Result<Toolchain> {
    let local = go_version(go, "local")?;
    if local == needed {
        return Ok(Toolchain {
            gotoolchain: "local".into(),
            local,
            fetched: false,
        });
    }
    let other = |found: String| RebuildError::Toolchain {
        program: go.to_string(),
        needed: needed.to_string(),
        found,
    };
    if !download {
        return Err(other(local).into());
    }
    let found = match go_version(go, needed) {
        Ok(found) => found,
        Err(Error::Build(build::BuildError::ToolFailed { stderr, .. })) => {
            return Err(RebuildError::ToolchainDownload {
                needed: needed.to_string(),
                message: last_line(&stderr),
            }
            .into())
        }
        Err(e) => return Err(e),
    };
    if found != needed {
        return Err(other(found).into());
    }
    Ok(Toolchain {
        gotoolchain: needed.to_string(),
        local,
        fetched: true,
    })
}

/// The last line of a program's complaint that says something (Go's reason comes last).
fn last_line(stderr: &str) -> String {
    stderr
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or("it printed nothing")
        .to_string()
}

/// `go env GOVERSION` with `GOTOOLCHAIN` as given.
fn go_version(go: &str, toolchain: &str) -> Result<String> {
    let out = Command::new(go)
        .args(["env", "GOVERSION"])
        .env("GOTOOLCHAIN", toolchain)
        .output()
        .map_err(|e| build::BuildError::Spawn {
            program: go.to_string(),
            message: crate::text::io_message(&e),
        })?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || text.is_empty() {
        return Err(build::BuildError::ToolFailed {
            command: format!("GOTOOLCHAIN={toolchain} {go} env GOVERSION"),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        }
        .into());
    }
    Ok(text)
}

/// Runs git in `dir`; its first line of complaint on failure.
fn git(dir: &Path, args: &[&str]) -> std::result::Result<(), String> {
    let out = Command::new("git")
        .args(["-c", "advice.detachedHead=false"])
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| format!("git: {}", crate::text::io_message(&e)))?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    Err(format!(
        "git {}: {}",
        args.first().unwrap_or(&""),
        stderr
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("failed")
            .trim()
    ))
}

/// The first field in which two manifests differ: an annotation, the config, a layer.
fn manifest_difference(theirs: &[u8], ours: &[u8]) -> String {
    let (a, b): (serde_json::Value, serde_json::Value) = (
        serde_json::from_slice(theirs).unwrap_or_default(),
        serde_json::from_slice(ours).unwrap_or_default(),
    );
    let keys = |v: &serde_json::Value| -> Vec<String> {
        v["annotations"]
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    };
    let mut names = keys(&a);
    names.extend(keys(&b));
    names.sort();
    names.dedup();
    if let Some(k) = names
        .iter()
        .find(|k| a["annotations"][k.as_str()] != b["annotations"][k.as_str()])
    {
        return format!(
            "annotation `{k}` ({} vs {} rebuilt)",
            a["annotations"][k.as_str()],
            b["annotations"][k.as_str()]
        );
    }
    for field in ["config", "layers", "artifactType", "mediaType"] {
        if a[field] != b[field] {
            return format!("its `{field}`");
        }
    }
    "its bytes".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_difference_names_the_first_annotation_or_field() {
        let a = br#"{"annotations":{"a":"1","b":"2"},"config":{"digest":"x"}}"#;
        let b = br#"{"annotations":{"a":"1","b":"3"},"config":{"digest":"x"}}"#;
        assert_eq!(
            manifest_difference(a, b),
            r#"annotation `b` ("2" vs "3" rebuilt)"#
        );
        let c = br#"{"annotations":{"a":"1","b":"2"},"config":{"digest":"y"}}"#;
        assert_eq!(manifest_difference(a, c), "its `config`");
    }

    #[test]
    fn a_summary_says_what_was_reproduced_and_passes_only_then() {
        let mut report = Report {
            reference: "r/x@sha256:00".into(),
            digest: "sha256:00".into(),
            source: "https://example.test/x.git".into(),
            commit: "c".repeat(40),
            dirty: false,
            toolchain: "go1.26.8".into(),
            local_toolchain: "go1.26.8".into(),
            toolchain_fetched: false,
            reproduced: true,
            outputs: Vec::new(),
            difference: None,
            summary: Vec::new(),
        };
        let p = summary_predicate(&report);
        assert_eq!(p["verificationResult"], "PASSED");
        assert_eq!(p["resourceUri"], "r/x@sha256:00");
        assert_eq!(p["policy"]["uri"], POLICY);
        assert!(p["verifier"]["id"].as_str().unwrap().contains("wasipack"));
        report.reproduced = false;
        assert_eq!(summary_predicate(&report)["verificationResult"], "FAILED");
    }
}

//! SLSA provenance v1 predicates: who built the module, from what, and how.

use serde_json::{json, Value};
use std::collections::BTreeMap;

pub const SLSA_V1: &str = "https://slsa.dev/provenance/v1";
pub const BUILD_TYPE: &str = "https://github.com/wasipack/wasipack/build/v1";
use crate::oci::artifact::{BASE_REVISION_ANNOTATION, DIRTY_ANNOTATION, PATH_ANNOTATION};

/// What is known about a build.
#[derive(Debug, Clone, Default)]
pub struct BuildFacts {
    /// `go` or `tinygo` (the program run), empty when unknown (a bare module).
    pub toolchain: String,
    pub toolchain_version: String,
    pub package: String,
    pub command: Vec<String>,
    pub env: BTreeMap<String, String>,
    /// `org.opencontainers.image.source` and `.revision` of the artifact.
    pub source: Option<String>,
    pub revision: Option<String>,
    /// The artifact's creation time.
    pub created: Option<String>,
    /// Binaries built in besides the source (a Go component's adapter).
    pub embedded: Vec<crate::sbom::Embedded>,
    /// Built from a tree with changes not committed: `revision` is then `None` and
    /// `base_revision` the commit the tree started from.
    pub dirty: bool,
    pub base_revision: Option<String>,
    /// The project directory within the repository (`.` at its root).
    pub path: Option<String>,
    /// The module's resolved settings (`wasipack.toml` and the flags), as `build` recorded them.
    pub configuration: Option<Value>,
    /// The environment wasipack inherited that changes what Go builds, and `SOURCE_DATE_EPOCH`,
    /// as `build` recorded them.
    pub build_env: BTreeMap<String, String>,
    /// Each output file and its digest (`sha256:HEX`).
    pub outputs: BTreeMap<String, String>,
}

impl BuildFacts {
    /// From a `build` report entry (dist/report.json) and the manifest's annotations.
    pub fn from_report(module: &Value, annotations: &BTreeMap<String, String>) -> BuildFacts {
        let s = |k: &str| module[k].as_str().unwrap_or_default().to_string();
        BuildFacts {
            toolchain: s("toolchain"),
            toolchain_version: s("toolchain_version"),
            package: s("package"),
            command: serde_json::from_value(module["command"].clone()).unwrap_or_default(),
            env: serde_json::from_value(module["env"].clone()).unwrap_or_default(),
            embedded: serde_json::from_value(module["embedded"].clone()).unwrap_or_default(),
            configuration: module.get("settings").filter(|s| s.is_object()).cloned(),
            build_env: serde_json::from_value(module["build_env"].clone()).unwrap_or_default(),
            outputs: serde_json::from_value(module["digests"].clone()).unwrap_or_default(),
            ..BuildFacts::from_annotations(annotations)
        }
    }

    pub fn from_annotations(annotations: &BTreeMap<String, String>) -> BuildFacts {
        let a = |k: &str| annotations.get(k).cloned();
        BuildFacts {
            source: a("org.opencontainers.image.source"),
            revision: a("org.opencontainers.image.revision"),
            created: a(crate::oci::artifact::CREATED),
            dirty: a(DIRTY_ANNOTATION).as_deref() == Some("true"),
            base_revision: a(BASE_REVISION_ANNOTATION),
            path: a(PATH_ANNOTATION),
            ..BuildFacts::default()
        }
    }
}

/// The predicate. Environment facts that matter are read here: SOURCE_DATE_EPOCH, and the
/// GitHub Actions run (workflow, run id and attempt) when there is one.
pub fn predicate(facts: &BuildFacts) -> Value {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let mut dependencies = Vec::new();
    if let Some(source) = &facts.source {
        let mut d = json!({ "uri": format!("git+{source}") });
        if let Some(rev) = &facts.revision {
            d["digest"] = json!({ "gitCommit": rev });
        }
        if facts.dirty {
            // Never a commit the bytes did not come from: the one they started from, marked.
            d["annotations"] = json!({ "dirty": true, "baseRevision": facts.base_revision });
        }
        dependencies.push(d);
    }
    for e in &facts.embedded {
        dependencies.push(json!({
            "uri": e.purl,
            "name": e.name,
            "digest": { "sha256": e.sha256 },
        }));
    }
    let github = env("GITHUB_ACTIONS").is_some();
    let server = env("GITHUB_SERVER_URL").unwrap_or_else(|| "https://github.com".into());
    let builder_id = match (github, env("GITHUB_WORKFLOW_REF")) {
        (true, Some(workflow)) => format!("{server}/{workflow}"),
        _ => format!(
            "https://github.com/wasipack/wasipack@v{}",
            env!("CARGO_PKG_VERSION")
        ),
    };
    let mut internal = json!({
        "wasipack": env!("CARGO_PKG_VERSION"),
        "env": facts.env,
        "inheritedEnv": facts.build_env,
        "command": facts.command,
        "toolchain": { "name": facts.toolchain, "version": facts.toolchain_version },
    });
    // The build's own, when it recorded one; else (a bare module) this process's.
    if let Some(epoch) = facts
        .build_env
        .get("SOURCE_DATE_EPOCH")
        .cloned()
        .or_else(|| env("SOURCE_DATE_EPOCH"))
    {
        internal["SOURCE_DATE_EPOCH"] = json!(epoch);
    }
    let mut metadata = json!({});
    if let Some(created) = &facts.created {
        metadata["finishedOn"] = json!(created);
    }
    if github {
        if let (Some(repo), Some(run)) = (env("GITHUB_REPOSITORY"), env("GITHUB_RUN_ID")) {
            let attempt = env("GITHUB_RUN_ATTEMPT").unwrap_or_else(|| "1".into());
            metadata["invocationId"] = json!(format!(
                "{server}/{repo}/actions/runs/{run}/attempts/{attempt}"
            ));
        }
    }
    json!({
        "buildDefinition": {
            "buildType": BUILD_TYPE,
            "externalParameters": {
                "package": facts.package,
                "source": facts.source,
                "revision": facts.revision,
                "dirty": facts.dirty,
                "baseRevision": facts.base_revision,
                "path": facts.path,
                "configuration": facts.configuration,
            },
            "internalParameters": internal,
            "resolvedDependencies": dependencies,
        },
        "runDetails": {
            "builder": {
                "id": builder_id,
                "version": {
                    "wasipack": env!("CARGO_PKG_VERSION"),
                    "toolchain": format!("{} {}", facts.toolchain, facts.toolchain_version).trim().to_string(),
                },
            },
            "metadata": metadata,
            "byproducts": facts.outputs.iter().map(|(name, digest)| json!({
                "name": name,
                "digest": { "sha256": digest.trim_start_matches("sha256:") },
            })).collect::<Vec<_>>(),
        },
    })
}

/// What a rebuild reads back from a provenance predicate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub source: Option<String>,
    pub revision: Option<String>,
    pub dirty: bool,
    pub base_revision: Option<String>,
    pub path: String,
    pub package: String,
    pub configuration: Option<Value>,
    pub toolchain: String,
    pub toolchain_version: String,
    pub inherited_env: BTreeMap<String, String>,
    pub source_date_epoch: Option<String>,
    pub wasipack: String,
    pub outputs: BTreeMap<String, String>,
}

impl Recorded {
    /// Reads a predicate written by [`predicate`] (older ones lack some fields: `None`).
    pub fn read(p: &Value) -> Recorded {
        let ext = &p["buildDefinition"]["externalParameters"];
        let int = &p["buildDefinition"]["internalParameters"];
        let s = |v: &Value| v.as_str().map(str::to_string);
        Recorded {
            source: s(&ext["source"]),
            revision: s(&ext["revision"]),
            dirty: ext["dirty"].as_bool().unwrap_or(false),
            base_revision: s(&ext["baseRevision"]),
            path: s(&ext["path"]).unwrap_or_else(|| ".".into()),
            package: s(&ext["package"]).unwrap_or_default(),
            configuration: Some(ext["configuration"].clone()).filter(Value::is_object),
            toolchain: s(&int["toolchain"]["name"]).unwrap_or_default(),
            toolchain_version: s(&int["toolchain"]["version"]).unwrap_or_default(),
            inherited_env: serde_json::from_value(int["inheritedEnv"].clone()).unwrap_or_default(),
            source_date_epoch: s(&int["SOURCE_DATE_EPOCH"]),
            wasipack: s(&int["wasipack"]).unwrap_or_default(),
            outputs: p["runDetails"]["byproducts"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|b| {
                    Some((
                        s(&b["name"])?,
                        format!("sha256:{}", b["digest"]["sha256"].as_str()?),
                    ))
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_components_adapter_is_a_resolved_dependency_with_its_digest() {
        let module = json!({
            "toolchain": "go",
            "command": ["go", "build"],
            "embedded": [{
                "name": "wasi_snapshot_preview1.reactor.wasm",
                "version": "50.0.1",
                "purl": "pkg:cargo/wasi-preview1-component-adapter-provider@50.0.1",
                "sha256": "6d52",
            }],
        });
        let p = predicate(&BuildFacts::from_report(&module, &BTreeMap::new()));
        assert_eq!(
            p["buildDefinition"]["resolvedDependencies"],
            json!([{
                "uri": "pkg:cargo/wasi-preview1-component-adapter-provider@50.0.1",
                "name": "wasi_snapshot_preview1.reactor.wasm",
                "digest": { "sha256": "6d52" },
            }])
        );
        let plain = predicate(&BuildFacts::from_report(&json!({}), &BTreeMap::new()));
        assert_eq!(plain["buildDefinition"]["resolvedDependencies"], json!([]));
    }

    fn facts() -> BuildFacts {
        BuildFacts {
            toolchain: "go".into(),
            toolchain_version: "go1.26.8".into(),
            package: ".".into(),
            command: vec!["go".into(), "build".into(), "-trimpath".into()],
            env: [("GOOS".to_string(), "wasip1".to_string())].into(),
            source: Some("https://example.test/org/hello.git".into()),
            revision: Some("a".repeat(40)),
            created: Some("2023-11-14T22:13:20Z".into()),
            dirty: false,
            base_revision: None,
            path: Some("examples/hello".into()),
            configuration: Some(json!({ "name": "hello", "package": "." })),
            embedded: Vec::new(),
            build_env: [
                ("SOURCE_DATE_EPOCH".to_string(), "1700000000".to_string()),
                ("GOFLAGS".to_string(), "-mod=mod".to_string()),
            ]
            .into(),
            outputs: [(
                "hello.wasm".to_string(),
                format!("sha256:{}", "b".repeat(64)),
            )]
            .into(),
        }
    }

    #[test]
    fn the_provenance_records_everything_a_rebuild_needs_and_reads_back() {
        let p = predicate(&facts());
        let r = Recorded::read(&p);
        assert_eq!(
            r.source.as_deref(),
            Some("https://example.test/org/hello.git")
        );
        assert_eq!(r.revision, Some("a".repeat(40)));
        assert!(!r.dirty);
        assert_eq!(r.path, "examples/hello");
        assert_eq!(r.package, ".");
        assert_eq!(
            r.configuration,
            Some(json!({ "name": "hello", "package": "." }))
        );
        assert_eq!(
            (r.toolchain.as_str(), r.toolchain_version.as_str()),
            ("go", "go1.26.8")
        );
        assert_eq!(r.inherited_env["GOFLAGS"], "-mod=mod");
        assert_eq!(r.source_date_epoch.as_deref(), Some("1700000000"));
        assert_eq!(r.wasipack, env!("CARGO_PKG_VERSION"));
        assert_eq!(
            r.outputs["hello.wasm"],
            format!("sha256:{}", "b".repeat(64))
        );
        assert_eq!(
            p["buildDefinition"]["resolvedDependencies"][0]["digest"]["gitCommit"],
            "a".repeat(40)
        );
    }

    #[test]
    fn a_dirty_tree_claims_no_commit() {
        let p = predicate(&BuildFacts {
            revision: None,
            dirty: true,
            base_revision: Some("c".repeat(40)),
            ..facts()
        });
        let dep = &p["buildDefinition"]["resolvedDependencies"][0];
        assert!(dep.get("digest").is_none(), "{dep}");
        assert_eq!(dep["annotations"]["dirty"], true);
        let r = Recorded::read(&p);
        assert!(r.dirty);
        assert_eq!(r.revision, None);
        assert_eq!(r.base_revision, Some("c".repeat(40)));
    }

    #[test]
    fn dirty_and_path_come_from_the_annotations_build_writes() {
        let a: BTreeMap<String, String> = [
            (DIRTY_ANNOTATION.to_string(), "true".to_string()),
            (BASE_REVISION_ANNOTATION.to_string(), "d".repeat(40)),
            (PATH_ANNOTATION.to_string(), "sub/dir".to_string()),
        ]
        .into();
        let f = BuildFacts::from_annotations(&a);
        assert!(f.dirty && f.revision.is_none());
        assert_eq!(f.base_revision, Some("d".repeat(40)));
        assert_eq!(f.path.as_deref(), Some("sub/dir"));
    }
}

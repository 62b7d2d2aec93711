//! SLSA provenance v1 predicates: who built the module, from what, and how.

use serde_json::{json, Value};
use std::collections::BTreeMap;

pub const SLSA_V1: &str = "https://slsa.dev/provenance/v1";
pub const BUILD_TYPE: &str = "https://github.com/wasipack/wasipack/build/v1";

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
            ..BuildFacts::from_annotations(annotations)
        }
    }

    pub fn from_annotations(annotations: &BTreeMap<String, String>) -> BuildFacts {
        let a = |k: &str| annotations.get(k).cloned();
        BuildFacts {
            source: a("org.opencontainers.image.source"),
            revision: a("org.opencontainers.image.revision"),
            created: a(crate::oci::artifact::CREATED),
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
        "command": facts.command,
    });
    if let Some(epoch) = env("SOURCE_DATE_EPOCH") {
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
        },
    })
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
}

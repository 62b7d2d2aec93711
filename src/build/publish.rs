//! Publishing: a build's outputs written into the output directory, all or nothing
//! ([`dist::Stage`](super::dist::Stage)): the modules, their SBOMs, `report.json` and the OCI
//! layout `oci/`, whose index gains each module's tag and drops referrers left without a subject.

use super::{dist, BuildReport, Built, ModuleReport};
use crate::error::Result;
use crate::oci::artifact::{self, to_bytes};
use crate::oci::layout::{self, Layout};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Writes `OUT/NAME.wasm`, `NAME.spdx.json`, `NAME.cdx.json`, `report.json` and the layout
/// `OUT/oci`, all or nothing.
pub fn publish(
    built: &[Built],
    output: &Path,
    reproducible: &BTreeMap<String, bool>,
) -> Result<BuildReport> {
    publish_as(built, output, &output.display().to_string(), reproducible)
}

/// [`publish`], with `report.json` naming the output directory `recorded` (a build records it
/// relative to the project directory, so that the file does not depend on where the checkout
/// sits); the report returned names it as given.
pub fn publish_as(
    built: &[Built],
    output: &Path,
    recorded: &str,
    reproducible: &BTreeMap<String, bool>,
) -> Result<BuildReport> {
    let mut stage = dist::Stage::default();
    let layout_root = output.join("oci");
    let mut index = Layout::index_or_empty(&layout_root)?;
    if !layout_root.join("oci-layout").exists() {
        stage.add(&layout_root.join("oci-layout"), layout::LAYOUT_MARKER)?;
    }
    // A build for several targets: one image index per module, tagged, listing each target's
    // (untagged) artifact under its platform.
    let mut groups: BTreeMap<&str, Vec<&Built>> = BTreeMap::new();
    for b in built {
        if let Some(tag) = &b.index {
            groups.entry(tag.as_str()).or_default().push(b);
        }
    }
    let indexes: BTreeMap<&str, artifact::Artifact> = groups
        .iter()
        .map(|(tag, members)| {
            let entries: Vec<(artifact::Descriptor, &str)> = members
                .iter()
                .map(|b| (b.artifact.descriptor.clone(), b.os.as_str()))
                .collect();
            (
                *tag,
                artifact::platform_index(&entries, &members[0].created),
            )
        })
        .collect();
    let mut modules = Vec::new();
    let mut files: Vec<(PathBuf, &[u8])> = Vec::new();
    for b in built {
        let tag = match &b.index {
            Some(_) => None,
            None => Some(b.tag.as_str()),
        };
        let mut artifacts = vec![(&b.artifact, tag)];
        artifacts.extend(b.referrers.iter().map(|r| (r, None)));
        for (a, tag) in artifacts {
            if let Some(tag) = tag {
                drop_replaced_entries(&mut index, &layout_root, tag, a);
            }
            for (d, bytes) in a
                .blobs
                .iter()
                .map(|(d, bytes)| (d, &bytes[..]))
                .chain([(&a.descriptor, a.manifest.as_slice())])
            {
                let path = layout_root.join("blobs/sha256").join(d.hex());
                if !path.exists() && !files.iter().any(|(p, _)| *p == path) {
                    files.push((path, bytes));
                }
            }
            layout::add_to_index(&mut index, a, tag);
        }
        let wasm = output.join(format!("{}.wasm", b.plan_name));
        let spdx = output.join(format!("{}.spdx.json", b.plan_name));
        let cdx = output.join(format!("{}.cdx.json", b.plan_name));
        files.extend([
            (wasm, &b.wasm[..]),
            (spdx, &b.spdx[..]),
            (cdx, &b.cyclonedx[..]),
        ]);
        modules.push(ModuleReport {
            name: b.plan_name.clone(),
            package: b.package.clone(),
            toolchain: b.toolchain.clone(),
            toolchain_version: b.toolchain_version.clone(),
            wasm: format!("{}.wasm", b.plan_name),
            sha256: b.check.module.sha256.clone(),
            size_compiled: b.rewrite.size_before,
            size: b.wasm.len() as u64,
            sections: b.rewrite.sections.clone(),
            policy: b.check.policy.clone(),
            passed: b.check.passed,
            abi: b.check.module.abi.id(),
            imports: b.check.module.imports.len(),
            spdx: format!("{}.spdx.json", b.plan_name),
            cyclonedx: format!("{}.cdx.json", b.plan_name),
            sbom_packages: b.sbom_packages,
            oci_layout: "oci".into(),
            tag: b.tag.clone(),
            manifest_digest: b.artifact.descriptor.digest.clone(),
            reproducible: reproducible.get(&b.plan_name).copied(),
            command: b.command.clone(),
            env: b.env.clone(),
            embedded: b.embedded.clone(),
            build_env: b.build_env.clone(),
            settings: b.settings.clone(),
            index_digest: b
                .index
                .as_ref()
                .map(|tag| indexes[tag.as_str()].descriptor.digest.clone()),
            digests: b.output_digests(),
        });
    }
    // Each index after the artifacts it lists.
    for (tag, index_artifact) in &indexes {
        let path = layout_root
            .join("blobs/sha256")
            .join(index_artifact.descriptor.hex());
        if !path.exists() && !files.iter().any(|(p, _)| *p == path) {
            files.push((path, &index_artifact.manifest));
        }
        drop_replaced_entries(&mut index, &layout_root, tag, index_artifact);
        layout::add_to_index(&mut index, index_artifact, Some(tag));
    }
    stage.add_all(&files)?;
    let report = BuildReport {
        output: output.display().to_string(),
        modules,
        checks: built
            .iter()
            .map(|b| (b.plan_name.clone(), b.check.clone()))
            .collect(),
        outside_project: None,
    };
    let written = BuildReport {
        output: recorded.to_string(),
        modules: report.modules.clone(),
        checks: Vec::new(),
        outside_project: None,
    };
    stage.add(
        &output.join("report.json"),
        &crate::json::json_bytes(crate::json::BUILD_SCHEMA, &written),
    )?;
    // Referrers staged in this build are not on disk yet: take their subjects from memory.
    let staged: BTreeMap<String, String> = built
        .iter()
        .flat_map(|b| {
            b.referrers.iter().map(move |r| {
                (
                    r.descriptor.digest.clone(),
                    b.artifact.descriptor.digest.clone(),
                )
            })
        })
        .collect();
    layout::prune_orphan_referrers(&mut index, |d| {
        staged
            .get(d)
            .cloned()
            .or_else(|| layout::stored_subject(&layout_root, d))
    });
    stage.add(&layout_root.join("index.json"), &to_bytes(&index))?;
    stage.commit()?;
    Ok(report)
}

/// When `tag` moves off an image index of an earlier build (to a new index or a plain
/// manifest), the untagged entries that the old index listed and `new` does not leave
/// `index.json` (their SBOMs follow, as orphan referrers).
fn drop_replaced_entries(
    index: &mut crate::oci::model::ImageIndex,
    root: &Path,
    tag: &str,
    new: &artifact::Artifact,
) {
    let Ok(entries) = crate::oci::model::entries(index) else {
        return;
    };
    let Some(old) = entries
        .iter()
        .find(|d| layout::tag_of(d) == Some(tag) && d.media_type == artifact::INDEX)
    else {
        return;
    };
    let listed = |bytes: &[u8]| -> Vec<String> {
        crate::oci::model::parse_index(bytes)
            .and_then(|i| crate::oci::model::entries(&i))
            .map(|e| e.into_iter().map(|d| d.digest).collect())
            .unwrap_or_default()
    };
    let Ok(old_bytes) = crate::fsio::read_bounded(
        &root.join("blobs/sha256").join(old.hex()),
        crate::oci::model::MAX_MANIFEST,
    ) else {
        return;
    };
    let kept = if new.descriptor.media_type == artifact::INDEX {
        listed(&new.manifest)
    } else {
        Vec::new()
    };
    let gone: Vec<String> = listed(&old_bytes)
        .into_iter()
        .filter(|d| !kept.contains(d))
        .collect();
    let manifests = index
        .manifests()
        .iter()
        .filter(|m| {
            let untagged = m
                .annotations()
                .as_ref()
                .is_none_or(|a| !a.contains_key(layout::REF_NAME));
            !(untagged && gone.iter().any(|g| g.as_str() == m.digest().as_ref()))
        })
        .cloned()
        .collect();
    index.set_manifests(manifests);
}

/// Every file a build's outputs consist of (what [`publish`] writes, and blobs it found there).
pub(super) fn outputs(built: &[Built], output: &Path) -> Vec<PathBuf> {
    let layout = output.join("oci");
    let mut files = vec![
        output.join("report.json"),
        layout.join("index.json"),
        layout.join("oci-layout"),
    ];
    for b in built {
        for suffix in [".wasm", ".spdx.json", ".cdx.json"] {
            files.push(output.join(format!("{}{suffix}", b.plan_name)));
        }
        for a in std::iter::once(&b.artifact).chain(&b.referrers) {
            for d in a.blobs.iter().map(|(d, _)| d).chain([&a.descriptor]) {
                files.push(layout.join("blobs/sha256").join(d.hex()));
            }
        }
    }
    files
}

//! Packaging: everything after the compiler, in memory. The compiled module is rewritten
//! (stripped), checked against its policy on the bytes that ship, described by SPDX and
//! CycloneDX SBOMs, and packed as an OCI artifact with the SBOMs as its referrers.

use super::cache;
use super::compile::Compiled;
use super::toolchain;
use super::{Built, Plan};
use crate::check;
use crate::error::{Error, Result};
use crate::oci::artifact::{self, wasm_artifact};
use crate::rewrite;
use crate::sbom::Sbom;
use std::collections::BTreeMap;

/// Packages a compiled module ([`package_compiled`]) and records how it was made.
pub(super) fn package(plan: &Plan, c: Compiled) -> Result<Built> {
    let Compiled {
        out,
        _tmp,
        line,
        listing,
        version,
        toolchain_version,
        created,
        git,
        build_id,
        fingerprint,
        build_env,
    } = c;
    let compiled = crate::fsio::read_input_private(&out)?;
    let mut built = package_compiled(plan, compiled, listing, &version.text, &created, &git)?;
    built.fingerprint = fingerprint;
    built.toolchain_record = build_id.map(|build_id| cache::Toolchain {
        build_id,
        go_version: version.text.clone(),
        shown: toolchain_version.clone(),
    });
    built.toolchain = line.program.clone();
    // The compiler's command line as provenance records it: the output path (a cache entry
    // or a temporary file) is written as the module's name.
    let out_text = out.display().to_string();
    built.command = std::iter::once(line.program.clone())
        .chain(line.args.iter().map(|a| {
            if a == &out_text {
                format!("{}.wasm", plan.name)
            } else if a.starts_with("-overlay=") {
                // In wasipack's cache; its one file is the generated shim.
                "-overlay=wasipack-overlay.json".to_string()
            } else {
                a.clone()
            }
        }))
        .collect();
    // What wasipack set itself: the variables a build inherits (and a rebuild sets) apart.
    built.env = line
        .env
        .iter()
        .filter(|(k, _)| !toolchain::INHERITED_ENV.contains(&k.as_str()))
        .cloned()
        .collect();
    built.build_env = build_env;
    built.toolchain_version = toolchain_version;
    Ok(built)
}

/// Everything after the compiler: rewrite, check the result (one validation pass, on the bytes
/// that ship), SBOMs from the module list (build info or `go list`) and go.sum hashes, and the OCI artifacts. Pure and
/// in memory; `bench/build.sh` times exactly this.
pub fn package_compiled(
    plan: &Plan,
    mut compiled: crate::fsio::Input,
    mut listing: toolchain::Listed,
    go_version: &str,
    created: &str,
    git: &BTreeMap<String, String>,
) -> Result<Built> {
    let wasm_error = |error| Error::Wasm {
        file: format!("{} (as compiled)", plan.name),
        error,
    };

    // Rewrite first, then check and validate what ships: one validation pass, on the final bytes.
    // Over a private mapping of the compiled file, a Go module's rewrite copies only its last
    // pages (read_input_private).
    let (len, mut rewritten) = match compiled.as_mut_slice() {
        Some(bytes) => rewrite::rewrite_in_place(bytes, &plan.strip),
        None => rewrite::rewrite_unvalidated(&compiled, &plan.strip).map(|r| (None, r)),
    }
    .map_err(wasm_error)?;
    let wasm = match len {
        Some(len) => compiled.into_bytes().slice(..len),
        None => artifact::Blob::from(std::mem::take(&mut rewritten.bytes)),
    };
    // Go for wasip2: the stripped reactor becomes a component, which is what is checked and ships.
    let (wasm, embedded, user_world) = if plan.go_component() {
        let (component, world) = super::component::componentize(&wasm, plan.wit.as_ref())?;
        (
            artifact::Blob::from(component),
            vec![super::component::adapter()],
            world,
        )
    } else {
        (wasm, Vec::new(), None)
    };
    let check = check::check(&wasm, &plan.policy).map_err(|error| Error::Check {
        file: plan.name.clone(),
        error,
    })?;
    let sha256 = check.module.sha256.clone();

    if listing.deps.iter().any(|d| d.compiled_sum().is_none()) {
        // Vendored builds: `go list` has no hashes; go.sum does.
        if let Some(sum) = listing.go_mod.as_ref().map(|m| m.with_file_name("go.sum")) {
            if let Ok(text) = crate::fsio::read_text_bounded(sum.as_ref(), crate::fsio::TEXT_LIMIT)
            {
                listing.fill_sums(&toolchain::parse_go_sum(&text));
            }
        }
    }
    let (main, deps) = (listing.main, listing.deps);
    let sbom = Sbom {
        name: format!("{}.wasm", plan.name),
        sha256: sha256.clone(),
        main,
        deps,
        go_version: Some(go_version.to_string()),
        created: created.to_string(),
        embedded: embedded.clone(),
    };
    let spdx = pretty(&sbom.spdx());
    let cyclonedx = pretty(&sbom.cyclonedx());

    let mut annotations = git.clone();
    annotations.extend(plan.settings.annotations.clone().unwrap_or_default());
    let mut spec = artifact::wasm_spec(
        &format!("{}.wasm", plan.name),
        check.module.kind == crate::wasm::inspect::Kind::Component,
        Some(&check.module),
        created,
        annotations,
    );
    // The world the user named (Go or TinyGo), when the exports do not name a WASI one.
    let named = user_world.or_else(|| plan.settings.world.clone().filter(|_| plan.wit.is_some()));
    if let (Some(c), Some(world)) = (spec.component.as_mut(), named) {
        c.target.get_or_insert(world);
    }
    let artifact = wasm_artifact(&wasm, &sha256, &spec);
    let referrers = vec![
        artifact::referrer(
            &artifact.descriptor,
            artifact::SPDX,
            &format!("{}.spdx.json", plan.name),
            &spdx,
            created,
        ),
        artifact::referrer(
            &artifact.descriptor,
            artifact::CYCLONEDX,
            &format!("{}.cdx.json", plan.name),
            &cyclonedx,
            created,
        ),
    ];
    Ok(Built {
        plan_name: plan.name.clone(),
        package: plan.package.clone(),
        toolchain: String::new(),
        command: Vec::new(),
        env: BTreeMap::new(),
        toolchain_version: go_version.to_string(),
        settings: super::config::Settings {
            name: Some(plan.name.clone()),
            package: Some(plan.package.clone()),
            tag: Some(plan.tag.clone()),
            ..plan.settings.clone()
        },
        build_env: toolchain::inherited_env(&[]),
        wasm,
        rewrite: rewritten,
        check,
        sbom_packages: sbom.deps.len(),
        spdx,
        cyclonedx,
        artifact,
        referrers,
        tag: plan.tag.clone(),
        fingerprint: None,
        toolchain_record: None,
        embedded,
        index: plan.index.clone(),
        os: plan.target.name().to_string(),
        created: created.to_string(),
    })
}

fn pretty(v: &serde_json::Value) -> Vec<u8> {
    let mut t = serde_json::to_vec_pretty(v).expect("SBOM serializes");
    t.push(b'\n');
    t
}

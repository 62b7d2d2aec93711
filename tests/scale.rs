//! Hostile sizes: work that grows with the number of imports, or of referrer entries in a
//! layout, must grow linearly (issue: 200k distinct imports took over a minute, a layout with
//! 10k duplicate referrer entries minutes to push).

use std::time::{Duration, Instant};
use wasipack::policy::Policy;

/// A module with `n` function imports of one type: from `env` under distinct names, or each
/// from its own module.
fn imports(n: usize, own_modules: bool) -> Vec<u8> {
    use wasm_encoder::{EntityType, ImportSection, Module, TypeSection};
    let mut types = TypeSection::new();
    types.ty().function([], []);
    let mut section = ImportSection::new();
    for i in 0..n {
        let (module, name) = if own_modules {
            (format!("m{i}"), "f".to_string())
        } else {
            ("env".to_string(), format!("f{i}"))
        };
        section.import(&module, &name, EntityType::Function(0));
    }
    let mut module = Module::new();
    module.section(&types).section(&section);
    module.finish()
}

fn time_check(bytes: &[u8], policy: &Policy) -> (Duration, wasipack::check::CheckReport) {
    let start = Instant::now();
    let report = wasipack::check::check(bytes, policy).expect("a valid module");
    let took = start.elapsed();
    assert!(!report.passed, "imports from env break wasip1-default");
    (took, report)
}

#[test]
fn check_of_200k_distinct_imports_takes_linear_time() {
    let policy = Policy::load("wasip1-default").unwrap();
    for own_modules in [false, true] {
        let small = imports(50_000, own_modules);
        let large = imports(200_000, own_modules);
        // The small run twice, the first to warm the allocator up.
        time_check(&small, &policy);
        let (t_small, _) = time_check(&small, &policy);
        let (t_large, report) = time_check(&large, &policy);
        eprintln!("own modules {own_modules}: 50k imports {t_small:?}, 200k {t_large:?}");
        // Four times the imports: linear work takes about four times as long, quadratic
        // sixteen times. Allow 3x slack over linear.
        assert!(
            t_large < t_small * 12 + Duration::from_millis(200),
            "own modules {own_modules}: 50k imports {t_small:?}, 200k imports {t_large:?}"
        );
        assert!(
            t_large < Duration::from_secs(20),
            "own modules {own_modules}: 200k imports took {t_large:?}"
        );
        assert_eq!(report.module.imports.len(), 200_000);
        let modules: Vec<_> = report
            .violations
            .iter()
            .filter(|v| v.rule == "imports.modules")
            .collect();
        assert_eq!(modules.len(), if own_modules { 200_000 } else { 1 });
        assert_eq!(modules[0].item, if own_modules { "m0" } else { "env" });
    }
}

#[test]
fn the_human_inspect_report_of_40k_import_modules_takes_linear_time() {
    let style = wasipack::report::Style { color: false };
    let time = |n: usize| {
        let module = wasipack::wasm::inspect_module(&imports(n, true)).unwrap();
        let start = Instant::now();
        let text = wasipack::report::human::inspect(&module, "m.wasm", style);
        (start.elapsed(), text)
    };
    time(10_000);
    let (t_small, _) = time(10_000);
    let (t_large, text) = time(40_000);
    eprintln!("human inspect: 10k import modules {t_small:?}, 40k {t_large:?}");
    // Quadratic grouping took 15.8 s at 40k in a release build.
    assert!(
        t_large < t_small * 12 + Duration::from_millis(200),
        "10k import modules {t_small:?}, 40k {t_large:?}"
    );
    // Each module is listed once, in the order of first appearance, with its import.
    let first = text.find("\n  m0\n").expect("m0 listed");
    let last = text.find("\n  m39999\n").expect("m39999 listed");
    assert!(first < last);
    assert_eq!(text.matches("\n  m1\n").count(), 1);
}

/// A layout with one tagged module, an SBOM referring to it and an attestation referring to
/// the SBOM, each referrer listed `copies` times in `index.json`.
fn layout_with_duplicate_referrers(root: &std::path::Path, copies: usize) -> [String; 3] {
    use wasipack::oci::artifact::{self, referrer, wasm_artifact, Blob};
    use wasipack::oci::Layout;
    let layout = Layout::create(root).unwrap();
    let module = b"\0asm\x01\0\0\0";
    let spec = artifact::WasmSpec {
        title: "a.wasm".into(),
        os: "wasip1".into(),
        created: "2024-01-01T00:00:00Z".into(),
        ..Default::default()
    };
    let a = wasm_artifact(
        &Blob::from(module.to_vec()),
        &wasipack::digest::sha256_hex(module),
        &spec,
    );
    layout.add(&a, Some("v1")).unwrap();
    let sbom = referrer(&a.descriptor, artifact::SPDX, "a.spdx.json", b"{}", "x");
    layout.add(&sbom, None).unwrap();
    let att = referrer(&sbom.descriptor, artifact::SPDX, "b.spdx.json", b"{ }", "x");
    layout.add(&att, None).unwrap();
    let path = root.join("index.json");
    let mut index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let manifests = index["manifests"].as_array_mut().unwrap();
    let entries = manifests.clone();
    for _ in 1..copies {
        manifests.extend(entries[1..].iter().cloned());
    }
    std::fs::write(&path, serde_json::to_vec(&index).unwrap()).unwrap();
    [
        a.descriptor.digest,
        sbom.descriptor.digest,
        att.descriptor.digest,
    ]
}

#[test]
fn a_layout_with_10k_duplicate_referrer_entries_loads_and_pushes_quickly() {
    use wasipack::oci::{Store, Target};
    use wasipack::workflow::{push, source};
    let dir = tempfile::tempdir().unwrap();
    let [module, sbom, att] = layout_with_duplicate_referrers(&dir.path().join("src"), 5_000);
    let start = Instant::now();
    let source = format!("oci-layout:{}", dir.path().join("src").display());
    let items = source::load_source(&source, dir.path(), source::Check::Now).unwrap();
    assert_eq!(items.len(), 1);
    let digests: Vec<&str> = items[0]
        .referrers
        .iter()
        .map(|r| r.descriptor.digest.as_str())
        .collect();
    // Each referrer once, in the order the walk from the module finds them.
    assert_eq!(digests, [sbom.as_str(), att.as_str()]);
    let dst = Target::parse(&format!("oci-layout:{}", dir.path().join("dst").display())).unwrap();
    let store = Store::open(&dst, Default::default(), true).unwrap();
    let tags = push::plan_tags(&items, &dst, &[]).unwrap();
    let reports = push::publish(&store, &dst, &items, &tags, None).unwrap();
    let took = start.elapsed();
    eprintln!("10k duplicate referrer entries: load and push {took:?}");
    assert_eq!(reports[0].tags, ["v1"]);
    assert_eq!(reports[0].referrers.len(), 2);
    let Store::Layout(pushed) = store else {
        unreachable!("a layout target")
    };
    let entries: Vec<String> = pushed
        .entries()
        .unwrap()
        .into_iter()
        .map(|d| d.digest)
        .collect();
    assert_eq!(entries, [module, sbom, att]);
    assert!(took < Duration::from_secs(5), "load and push took {took:?}");
}

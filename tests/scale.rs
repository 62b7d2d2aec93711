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

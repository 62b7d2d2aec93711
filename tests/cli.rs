//! CLI tests in the wasm-tools style: each `tests/cli/NAME.wat` starts with
//! `;; RUN: ARGS` (the module is `%`) and `;; EXIT: N`; the expected human output is in
//! `NAME.wat.stdout` and the expected `--json` output in `NAME.wat.json`.
//! Policies the fixtures use are in `tests/cli/pol/`. Each fixture is its own test (`cargo test
//! --test cli abi_gojs`). Run with `BLESS=1` to rewrite the expectations after an intended
//! change, then review the diff. None needs a tool beyond the Rust toolchain.

mod common;

use std::path::Path;

/// One test per fixture, named after its file with `_` for `-` (`cargo test --test cli
/// abi_gojs` runs `abi-gojs.wat`). A new fixture needs its line here:
/// `every_fixture_has_its_test` fails until it has one.
macro_rules! fixtures {
    ($($name:ident,)*) => {
        $(
            #[test]
            fn $name() {
                check_fixture(stringify!($name));
            }
        )*

        /// The fixture names the tests above run, as the files are named.
        fn listed() -> Vec<String> {
            vec![$(stringify!($name).replace('_', "-")),*]
        }
    };
}

fixtures! {
    abi_gojs,
    abi_reactor,
    bad_policy,
    component_memories,
    component_pass,
    component_wrong_policy,
    exports_forbid,
    exports_require,
    features_permissive,
    features_simd,
    imports_capabilities,
    imports_deny,
    imports_deny_capabilities,
    imports_modules,
    imports_signature,
    imports_signature_duplicate,
    imports_unknown_wasi,
    imports_wasi_unstable,
    inspect_command,
    memory_max_initial_pages,
    memory_max_memories,
    memory_memory64,
    memory_no_maximum,
    memory_shared,
    pass_command,
    pass_reactor,
    proxy_wasm,
    proxy_wasm_violations,
    sections,
    start,
    strip_all_keep,
    strip_keep,
    strip_release,
}

/// Runs the fixture whose test is `test_name`, or rewrites its expectations under `BLESS=1`.
fn check_fixture(test_name: &str) {
    let stem = test_name.replace('_', "-");
    let wat_path = common::repo().join("tests/cli").join(format!("{stem}.wat"));
    assert!(
        wat_path.exists(),
        "{} is missing: remove `{test_name}` from the fixtures! list",
        wat_path.display()
    );
    let bless = std::env::var_os("BLESS").is_some();
    if let Err(e) = run_fixture(&wat_path, bless) {
        panic!("{stem}.wat: {e}");
    }
}

/// Every `.wat` in tests/cli has its test, every test its `.wat`, and every expectation file
/// its `.wat`: no fixture is silently left out.
#[test]
fn every_fixture_has_its_test() {
    let dir = common::repo().join("tests/cli");
    let mut files = Vec::new();
    let mut orphans = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        if let Some(stem) = name.strip_suffix(".wat") {
            files.push(stem.to_string());
        } else if let Some(wat) = name
            .strip_suffix(".stdout")
            .or_else(|| name.strip_suffix(".json"))
        {
            if !dir.join(wat).exists() {
                orphans.push(name);
            }
        }
    }
    files.sort();
    assert!(
        files.len() >= 20,
        "expected a fixture per rule, found {}",
        files.len()
    );
    let mut listed = listed();
    listed.sort();
    let untested: Vec<_> = files.iter().filter(|f| !listed.contains(f)).collect();
    assert!(
        untested.is_empty(),
        "fixtures without a test: add {} to the fixtures! list in tests/cli.rs",
        untested
            .iter()
            .map(|f| f.replace('-', "_"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let missing: Vec<_> = listed.iter().filter(|l| !files.contains(l)).collect();
    assert!(
        missing.is_empty(),
        "tests without a fixture file: {missing:?}"
    );
    assert!(
        orphans.is_empty(),
        "expectations without a fixture: {orphans:?}"
    );
}

fn run_fixture(wat_path: &Path, bless: bool) -> Result<(), String> {
    let text = std::fs::read_to_string(wat_path).unwrap();
    let directive = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!(";; {key}:")))
            .map(|s| s.trim().to_string())
            .ok_or(format!("missing `;; {key}:` line"))
    };
    let args = directive("RUN")?;
    let expected_exit: i32 = directive("EXIT")?
        .parse()
        .map_err(|_| "bad EXIT".to_string())?;
    let wasm = wat::parse_str(&text).map_err(|e| format!("wat: {e}"))?;

    let work = tempfile::tempdir().unwrap();
    let stem = wat_path.file_stem().unwrap().to_string_lossy().to_string();
    let wasm_name = format!("{stem}.wasm");
    std::fs::write(work.path().join(&wasm_name), wasm).unwrap();
    let pol = work.path().join("pol");
    std::fs::create_dir(&pol).unwrap();
    for entry in std::fs::read_dir(common::repo().join("tests/cli/pol")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), pol.join(entry.file_name())).unwrap();
    }

    let args: Vec<String> = args
        .split_whitespace()
        .map(|a| a.replace('%', &wasm_name))
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    for (suffix, extra) in [("stdout", None), ("json", Some("--json"))] {
        let mut all = args.clone();
        all.extend(extra);
        let (code, stdout, stderr) = common::run_in(work.path(), &all);
        if code != expected_exit {
            return Err(format!(
                "{suffix}: exit {code}, expected {expected_exit}; stderr: {stderr}"
            ));
        }
        if stderr.contains("panicked") {
            return Err(format!("{suffix}: panicked: {stderr}"));
        }
        let actual = if code == 2 { stderr } else { stdout };
        let expected_path = wat_path.with_extension(format!("wat.{suffix}"));
        if bless {
            std::fs::write(&expected_path, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path)
            .map_err(|_| format!("missing {} (run with BLESS=1)", expected_path.display()))?;
        if expected != actual {
            return Err(format!(
                "{suffix} differs.\n--- expected\n{expected}\n--- actual\n{actual}"
            ));
        }
    }
    Ok(())
}

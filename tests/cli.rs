//! CLI tests in the wasm-tools style: each `tests/cli/NAME.wat` starts with
//! `;; RUN: ARGS` (the module is `%`) and `;; EXIT: N`; the expected human output is in
//! `NAME.wat.stdout` and the expected `--json` output in `NAME.wat.json`.
//! Policies the fixtures use are in `tests/cli/pol/`. Run with `BLESS=1` to rewrite the
//! expectations after an intended change, then review the diff.

mod common;

use std::path::Path;

#[test]
fn cli_fixtures_match_their_expected_output() {
    let dir = common::repo().join("tests/cli");
    let mut fixtures: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wat"))
        .collect();
    fixtures.sort();
    assert!(
        fixtures.len() >= 20,
        "expected a fixture per rule, found {}",
        fixtures.len()
    );
    let bless = std::env::var_os("BLESS").is_some();
    let mut failures = Vec::new();
    for wat_path in &fixtures {
        if let Err(e) = run_fixture(wat_path, bless) {
            failures.push(format!(
                "{}: {e}",
                wat_path.file_name().unwrap().to_string_lossy()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} fixture(s) failed:\n{}",
        failures.len(),
        failures.join("\n\n")
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

//! A malformed `producers` custom section does not make a module invalid (wasm-tools, wabt and
//! runtimes accept it): `inspect`, `check` and `strip` accept the module and say, as a warning,
//! that the section was ignored (or, when `strip` stamps it, replaced).

mod common;

use std::path::Path;

/// The contents of a well-formed `producers` section: `language: Go go1.26.8`.
const GOOD: &[u8] = b"\x01\x08language\x01\x02Go\x08go1.26.8";

/// Ways a `producers` section's contents can be broken, and what wasmparser says of each.
fn malformed() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    vec![
        // Cut in the middle of the version string.
        (
            "truncated",
            GOOD[..GOOD.len() - 3].to_vec(),
            "unexpected end",
        ),
        // Not even a field count.
        ("empty", Vec::new(), "unexpected end"),
        // Bytes after the last field.
        ("trailing", [GOOD, b"\xff\xff"].concat(), "unexpected"),
        // A value name that is not UTF-8.
        (
            "bad-utf8",
            b"\x01\x08language\x01\x02\xff\xfe\x01x".to_vec(),
            "UTF-8",
        ),
    ]
}

/// A wasip1 command that passes the default policy, with a `producers` section holding
/// `contents`.
fn module(contents: &[u8]) -> Vec<u8> {
    let mut bytes = wat::parse_str(
        r#"(module
             (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
             (memory (export "memory") 1)
             (func (export "_start")))"#,
    )
    .unwrap();
    // A custom section (id 0): its size, then the name and the contents.
    let mut body = vec![9];
    body.extend_from_slice(b"producers");
    body.extend_from_slice(contents);
    bytes.push(0);
    leb(&mut bytes, body.len());
    bytes.extend(body);
    bytes
}

fn leb(out: &mut Vec<u8>, mut n: usize) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn json(dir: &Path, args: &[&str]) -> serde_json::Value {
    let (code, stdout, stderr) = common::run_in(dir, args);
    assert_eq!(code, 0, "{args:?}: {stderr}");
    serde_json::from_str(&stdout).unwrap()
}

/// The `producers` sections of `bytes`, by their contents.
fn producers_sections(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        if let wasmparser::Payload::CustomSection(c) = payload.unwrap() {
            if c.name() == "producers" {
                out.push(c.data().to_vec());
            }
        }
    }
    out
}

#[test]
fn the_module_is_valid_whatever_its_producers_section_holds() {
    for (name, contents, _) in malformed() {
        wasmparser::Validator::new()
            .validate_all(&module(&contents))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(producers_sections(&module(&contents)), [contents], "{name}");
    }
}

#[test]
fn wasm_tools_accepts_them_too() {
    let t = common::require!("wasm-tools");
    let dir = tempfile::tempdir().unwrap();
    for (name, contents, _) in malformed() {
        let path = dir.path().join(format!("{name}.wasm"));
        std::fs::write(&path, module(&contents)).unwrap();
        let (code, _, stderr) = t.run(
            "wasm-tools",
            &["validate", path.to_str().unwrap()],
            dir.path(),
        );
        assert_eq!(code, 0, "{name}: {stderr}");
    }
}

#[test]
fn inspect_and_check_accept_the_module_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    for (name, contents, says) in malformed() {
        let file = format!("{name}.wasm");
        std::fs::write(dir.path().join(&file), module(&contents)).unwrap();

        let (code, stdout, stderr) = common::run_in(dir.path(), &["inspect", &file]);
        assert_eq!(code, 0, "inspect {name}: {stderr}");
        let warning = stdout
            .lines()
            .filter(|l| l.trim_start().starts_with("warning"))
            .collect::<Vec<_>>();
        assert_eq!(warning.len(), 1, "inspect {name}: {stdout}");
        assert!(
            warning[0].contains("custom section `producers` is malformed")
                && warning[0].contains(says)
                && warning[0].contains("ignored"),
            "inspect {name}: {}",
            warning[0]
        );
        assert!(stdout.contains("  toolchain   unknown\n"), "{stdout}");

        let v = json(dir.path(), &["inspect", &file, "--json"]);
        let warnings = v["warnings"].as_array().expect("a warnings list");
        assert_eq!(warnings.len(), 1, "{name}: {warnings:?}");
        let message = warnings[0]["message"].as_str().unwrap();
        assert!(
            message.contains("producers") && message.contains(says),
            "{message}"
        );
        // The offset points into the producers section.
        let offset = warnings[0]["offset"].as_u64().unwrap() as usize;
        let section = v["sections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == "producers")
            .unwrap();
        let start = section["offset"].as_u64().unwrap() as usize;
        let end = start + section["size"].as_u64().unwrap() as usize;
        assert!(
            (start..=end).contains(&offset),
            "{name}: {offset} not in {start}..{end}"
        );
        assert_eq!(v["toolchain"]["producers"], serde_json::json!([]));

        let (code, stdout, stderr) = common::run_in(dir.path(), &["check", &file]);
        assert_eq!(code, 0, "check {name}: {stdout}{stderr}");
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(lines.len(), 2, "check {name}: {stdout}");
        assert!(lines[0].starts_with(&format!("PASS {file}: ")), "{stdout}");
        assert!(
            lines[1].starts_with("  warning: custom section `producers` is malformed"),
            "{stdout}"
        );

        let v = json(dir.path(), &["check", &file, "--json"]);
        assert_eq!(v["passed"], true);
        assert_eq!(v["module"]["warnings"][0]["message"], message);
    }
}

#[test]
fn strip_replaces_a_malformed_section_it_stamps_and_copies_one_it_does_not() {
    let dir = tempfile::tempdir().unwrap();
    for (name, contents, says) in malformed() {
        let file = format!("{name}.wasm");
        let input = module(&contents);
        std::fs::write(dir.path().join(&file), &input).unwrap();

        // Stamping: the section is replaced by one with only wasipack's entry.
        let (code, stdout, stderr) =
            common::run_in(dir.path(), &["strip", &file, "-o", "stamped.wasm"]);
        assert_eq!(code, 0, "strip {name}: {stderr}");
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with("replaced custom:producers")),
            "{stdout}"
        );
        let warning: Vec<&str> = stdout
            .lines()
            .filter(|l| l.starts_with("warning: "))
            .collect();
        assert_eq!(warning.len(), 1, "{stdout}");
        assert!(
            warning[0].contains(says) && warning[0].contains("replaced by a new one"),
            "{stdout}"
        );
        let out = std::fs::read(dir.path().join("stamped.wasm")).unwrap();
        wasmparser::Validator::new().validate_all(&out).unwrap();
        assert_eq!(
            producers_sections(&out).len(),
            1,
            "{name}: one producers section"
        );
        let v = json(dir.path(), &["inspect", "stamped.wasm", "--json"]);
        assert!(v.get("warnings").is_none(), "{name}: {v}");
        assert_eq!(
            v["toolchain"]["producers"],
            serde_json::json!([{
                "field": "processed-by",
                "name": "wasipack",
                "version": env!("CARGO_PKG_VERSION"),
            }])
        );

        let v = json(
            dir.path(),
            &["strip", &file, "-o", "stamped.wasm", "--json"],
        );
        let change = v["sections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["section"] == "custom:producers")
            .unwrap();
        assert_eq!(change["action"], "replaced");
        assert!(v["warnings"][0]["message"].as_str().unwrap().contains(says));

        // Not stamping: the section is copied as it is, with the warning.
        let (code, stdout, stderr) = common::run_in(
            dir.path(),
            &["strip", &file, "-o", "copied.wasm", "--no-stamp"],
        );
        assert_eq!(code, 0, "strip --no-stamp {name}: {stderr}");
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with("warning: ") && l.contains("copied unchanged")),
            "{stdout}"
        );
        let out = std::fs::read(dir.path().join("copied.wasm")).unwrap();
        assert_eq!(
            out, input,
            "{name}: nothing else to strip, so the same bytes"
        );
    }
}

#[test]
fn a_well_formed_section_gives_no_warnings_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("good.wasm"), module(GOOD)).unwrap();
    let v = json(dir.path(), &["inspect", "good.wasm", "--json"]);
    assert!(v.get("warnings").is_none(), "{v}");
    assert_eq!(v["toolchain"]["name"], "go");
    let v = json(
        dir.path(),
        &["strip", "good.wasm", "-o", "out.wasm", "--json"],
    );
    assert!(v.get("warnings").is_none(), "{v}");
    let (code, stdout, _) = common::run_in(dir.path(), &["check", "good.wasm"]);
    assert_eq!(code, 0);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
}

//! Malformed inputs: each must give exit 2, one `error:` line naming the file and the problem
//! (with the byte offset where there is one), nothing on stdout, and never a panic, from both
//! `check` and `inspect`.

mod common;

use std::path::Path;

fn leb(mut n: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

fn section(id: u8, contents: &[u8]) -> Vec<u8> {
    let mut s = vec![id];
    s.extend(leb(contents.len() as u64));
    s.extend_from_slice(contents);
    s
}

fn module(sections: &[Vec<u8>]) -> Vec<u8> {
    let mut m = b"\0asm\x01\0\0\0".to_vec();
    for s in sections {
        m.extend_from_slice(s);
    }
    m
}

fn name(s: &[u8]) -> Vec<u8> {
    let mut v = leb(s.len() as u64);
    v.extend_from_slice(s);
    v
}

/// A valid module that has every section kind, so each can be truncated.
fn base() -> Vec<u8> {
    wat::parse_str(
        r#"(module
          (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
          (table 1 funcref)
          (memory (export "memory") 1)
          (global $g (mut i32) (i32.const 0))
          (func $f (export "_start") (global.set $g (i32.add (i32.const 1) (i32.const 2))))
          (elem (i32.const 0) $f)
          (data (i32.const 0) "hello world, this is data")
          (@custom "producers" "\01\08language\01\02Go\08go1.26.8"))"#,
    )
    .unwrap()
}

/// Section boundaries of `bytes`: (id, content start, content end).
fn sections_of(bytes: &[u8]) -> Vec<(u8, usize, usize)> {
    let mut out = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        if let Some((id, range)) = payload.unwrap().as_section() {
            out.push((id, range.start as usize, range.end as usize));
        }
    }
    out
}

struct Case {
    name: String,
    bytes: Vec<u8>,
    /// The message must contain this.
    expect: &'static str,
    /// Only `check` sees this problem (body validation, or the policy's module kind);
    /// inspect may accept the file.
    check_only: bool,
}

fn case(name: &str, bytes: Vec<u8>, expect: &'static str) -> Case {
    Case {
        name: name.to_string(),
        bytes,
        expect,
        check_only: false,
    }
}

fn cases() -> Vec<Case> {
    let base = base();
    let mut cases = vec![
        case("empty", Vec::new(), "offset 0x0"),
        case("wrong-magic", b"\0asn\x01\0\0\0".to_vec(), "magic header"),
        case("short-magic", b"\0as".to_vec(), "offset"),
        case(
            "wrong-version",
            b"\0asm\x02\0\0\0".to_vec(),
            "unknown binary version",
        ),
        case("truncated-version", b"\0asm\x01\0".to_vec(), "offset"),
        case("text-not-binary", b"(module)".to_vec(), "magic header"),
        case(
            "leb128-overflow-section-size",
            module(&[vec![1, 0xff, 0xff, 0xff, 0xff, 0x7f]]),
            "offset",
        ),
        case(
            "leb128-too-long",
            module(&[vec![1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]]),
            "offset",
        ),
        case(
            "section-size-past-end",
            module(&[vec![1, 100, 0, 0]]),
            "offset",
        ),
        case(
            "duplicate-type-section",
            module(&[section(1, &[0]), section(1, &[0])]),
            "section out of order",
        ),
        case(
            "sections-out-of-order",
            module(&[section(3, &[0]), section(1, &[0])]),
            "section out of order",
        ),
        case(
            "unknown-section-id",
            module(&[section(0x20, &[0])]),
            "offset",
        ),
        case(
            "absurd-type-count",
            module(&[section(1, &[0xff, 0xff, 0xff, 0xff, 0x0f])]),
            "offset",
        ),
        case(
            "absurd-import-count",
            module(&[section(2, &[0xff, 0xff, 0xff, 0xff, 0x0f])]),
            "offset",
        ),
        case(
            "absurd-function-count",
            module(&[
                section(1, &[1, 0x60, 0, 0]),
                section(3, &[0xff, 0xff, 0xff, 0xff, 0x0f, 0]),
            ]),
            "offset",
        ),
        case(
            "invalid-utf8-import-name",
            module(&[
                section(1, &[1, 0x60, 0, 0]),
                section(
                    2,
                    &[[1].as_slice(), &name(b"env"), &name(b"\xff\xfe"), &[0, 0]].concat(),
                ),
            ]),
            "UTF-8",
        ),
        case(
            "invalid-utf8-export-name",
            module(&[
                section(1, &[1, 0x60, 0, 0]),
                section(3, &[1, 0]),
                section(7, &[[1].as_slice(), &name(b"\xc3\x28"), &[0, 0]].concat()),
                section(10, &[1, 2, 0, 0x0b]),
            ]),
            "UTF-8",
        ),
        case(
            "invalid-utf8-custom-name",
            module(&[section(0, &name(b"\xff"))]),
            "UTF-8",
        ),
        case(
            "custom-name-past-section-end",
            module(&[section(0, &[10, b'a'])]),
            "offset",
        ),
        case(
            "function-code-count-mismatch",
            module(&[
                section(1, &[1, 0x60, 0, 0]),
                section(3, &[2, 0, 0]),
                section(10, &[1, 2, 0, 0x0b]),
            ]),
            "offset",
        ),
        case(
            "code-without-functions",
            module(&[section(10, &[1, 2, 0, 0x0b])]),
            "offset",
        ),
        case(
            "duplicate-export-name",
            module(&[
                section(1, &[1, 0x60, 0, 0]),
                section(3, &[1, 0]),
                section(
                    7,
                    &[[2].as_slice(), &name(b"a"), &[0, 0], &name(b"a"), &[0, 0]].concat(),
                ),
                section(10, &[1, 2, 0, 0x0b]),
            ]),
            "duplicate export name",
        ),
        case(
            "data-without-memory",
            module(&[section(11, &[1, 0, 0x41, 0, 0x0b, 1, b'x'])]),
            "offset",
        ),
        case(
            "memory-limits-inverted",
            module(&[section(5, &[1, 1, 5, 2])]),
            "offset",
        ),
        case(
            "import-unknown-type",
            module(&[section(
                2,
                &[[1].as_slice(), &name(b"m"), &name(b"f"), &[0, 9]].concat(),
            )]),
            "offset",
        ),
    ];
    let mut component = case(
        "component-for-module-policy",
        b"\0asm\x0d\0\x01\0".to_vec(),
        "component",
    );
    component.check_only = true;
    cases.push(component);
    let mut body = |n: &str, code: &[u8], expect: &'static str| {
        let mut c = case(
            n,
            module(&[
                section(1, &[1, 0x60, 0, 0]),
                section(3, &[1, 0]),
                section(10, code),
            ]),
            expect,
        );
        c.check_only = true;
        cases.push(c);
    };
    body("invalid-opcode", &[1, 3, 0, 0xff, 0x0b], "offset");
    body("type-mismatch", &[1, 3, 0, 0x6a, 0x0b], "type mismatch");
    body("missing-end", &[1, 2, 0, 0x01], "offset");
    body(
        "absurd-local-count",
        &[1, 6, 1, 0xff, 0xff, 0xff, 0xff, 0x0f],
        "offset",
    );
    // Truncate the valid base module in the middle of each section it has.
    for (id, start, end) in sections_of(&base) {
        let cut = start + (end - start) / 2;
        cases.push(case(
            &format!("truncated-in-section-{id}"),
            base[..cut.max(start + 1).min(end)].to_vec(),
            "offset",
        ));
    }
    cases
}

fn assert_rejected(dir: &Path, c: &Case, command: &str) {
    let file = format!("{}.wasm", c.name);
    std::fs::write(dir.join(&file), &c.bytes).unwrap();
    let (code, stdout, stderr) = common::run_in(dir, &[command, &file]);
    if command == "inspect" && c.check_only && code == 0 {
        return;
    }
    common::assert_clean_error(code, &stdout, &stderr, &format!("{command} {}", c.name));
    assert!(
        stderr.contains(&file),
        "{command} {}: names the file: {stderr}",
        c.name
    );
    assert!(
        stderr.contains(c.expect),
        "{command} {}: expected `{}` in {stderr}",
        c.name,
        c.expect
    );
}

#[test]
fn thirty_plus_malformed_inputs_exit_2_with_one_line_and_no_panic() {
    let dir = tempfile::tempdir().unwrap();
    let cases = cases();
    assert!(cases.len() >= 30, "only {} cases", cases.len());
    for c in &cases {
        assert_rejected(dir.path(), c, "check");
        assert_rejected(dir.path(), c, "inspect");
    }
}

#[test]
fn a_directory_is_refused_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("adir")).unwrap();
    for command in ["check", "inspect"] {
        let (code, stdout, stderr) = common::run_in(dir.path(), &[command, "adir"]);
        common::assert_clean_error(code, &stdout, &stderr, command);
        assert!(stderr.contains("adir: cannot read"), "{stderr}");
    }
}

#[test]
fn a_missing_file_is_refused_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    for command in ["check", "inspect"] {
        let (code, stdout, stderr) = common::run_in(dir.path(), &[command, "nope.wasm"]);
        common::assert_clean_error(code, &stdout, &stderr, command);
        assert!(
            stderr.contains("nope.wasm: cannot read: No such file"),
            "{stderr}"
        );
    }
}

#[test]
fn a_bad_policy_is_exit_2_before_the_module_is_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("p.toml"),
        "[imports]\ncheck-signatures = \"yes\"\n",
    )
    .unwrap();
    let (code, stdout, stderr) =
        common::run_in(dir.path(), &["check", "missing.wasm", "--policy", "p.toml"]);
    common::assert_clean_error(code, &stdout, &stderr, "bad policy");
    assert!(stderr.contains("p.toml:2:"), "{stderr}");
}

#[test]
fn sarif_to_an_unwritable_path_fails_cleanly_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("m.wasm"), base()).unwrap();
    let (code, stdout, stderr) = common::run_in(
        dir.path(),
        &["check", "m.wasm", "--sarif", "no/such/dir/out.sarif"],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stdout.is_empty());
    assert!(
        stderr.starts_with("error: no/such/dir/out.sarif: cannot write"),
        "{stderr}"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, vec![std::ffi::OsString::from("m.wasm")]);
}

#[test]
fn usage_errors_exit_2() {
    let (code, _, stderr) = common::run(&["check"]);
    assert_eq!(code, 2, "{stderr}");
    let (code, _, _) = common::run(&["frobnicate"]);
    assert_eq!(code, 2);
}

//! Terminal and log injection: names, producers, Go build info and a registry's error message
//! that carry ESC sequences, CR/LF and bidi overrides reach every human-readable output as
//! visible escapes. One item is one line, no report line can be forged, and no control byte
//! reaches the terminal.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;

/// A window title, a screen clear, a colour, a forged line, and a right-to-left override.
const TITLE: &str = "\x1b]0;pwned\x07";
const CLEAR: &str = "\x1b[2J\x1b[H";
const FORGED: &str = "\r\nFAKE LINE: PASS";

/// `text` as a WAT string literal: every byte outside printable ASCII (and `"`, `\`) as `\hh`.
fn wat_string(text: &[u8]) -> String {
    let mut out = String::from("\"");
    for &b in text {
        if (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\' {
            out.push(b as char);
        } else {
            out.push_str(&format!("\\{b:02x}"));
        }
    }
    out.push('"');
    out
}

fn s(text: &str) -> String {
    wat_string(text.as_bytes())
}

/// Go's build info sentinels (src/wasm/modinfo.rs).
const START: [u8; 16] = [
    0x30, 0x77, 0xaf, 0x0c, 0x92, 0x74, 0x08, 0x02, 0x41, 0xe1, 0xc1, 0x07, 0xe6, 0xd6, 0x18, 0xe6,
];
const END: [u8; 16] = [
    0xf9, 0x32, 0x43, 0x31, 0x86, 0x18, 0x20, 0x72, 0x00, 0x82, 0x42, 0x10, 0x41, 0x16, 0xd8, 0xf2,
];

/// A valid wasip1 command whose import, export and custom section names, producers values and
/// Go build info all carry escape sequences and forged lines.
fn hostile_module() -> Vec<u8> {
    let mut info = START.to_vec();
    info.extend_from_slice(
        format!(
            "path\texample.com/app{TITLE}\rFAKE LINE: PASS\n\
             mod\texample.com/app{CLEAR}\t(devel)\t\n\
             dep\tevil.example/x\u{202e}gnp.exe\tv1.0.0\th1:x=\n\
             build\tGOOS=wasip1\x1b[31m\rFAKE LINE: PASS\n"
        )
        .as_bytes(),
    );
    info.extend_from_slice(&END);
    let wat = format!(
        r#"(module
             (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
             (import {env} {name} (func))
             (import "wasi_snapshot_preview1" {wasi} (func))
             (memory (export "memory") 1)
             (func (export "_start"))
             (func (export {export}))
             (data (i32.const 0) {info})
             (@custom {section} "x")
             (@producers
               (language {lang} {version})
               (processed-by {tool} "1.0")))"#,
        env = s(&format!("env{TITLE}")),
        name = s(&format!("f{FORGED}")),
        wasi = s(&format!("fd_read{CLEAR}")),
        export = s(&format!("e{CLEAR}\u{202e}\u{9b}31m")),
        info = wat_string(&info),
        section = s(&format!("c{FORGED}")),
        lang = s(&format!("lang{TITLE}")),
        version = s(&format!("1{FORGED}")),
        tool = s("tool\x1b[31m\u{2066}"),
    );
    wat::parse_str(&wat).expect("the hostile module assembles")
}

/// No byte below 0x20 but the `\n` that ends each line, no DEL, no C1 control, no bidi
/// control, and no line that starts like a forged one.
fn assert_inert(what: &str, text: &str) {
    for (i, c) in text.char_indices() {
        let bad = (c < ' ' && c != '\n')
            || ('\u{7f}'..='\u{9f}').contains(&c)
            || ('\u{202a}'..='\u{202e}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c)
            || c == '\u{2028}'
            || c == '\u{2029}';
        assert!(
            !bad,
            "{what}: raw {c:?} at {i}: {:?}",
            &text[i.saturating_sub(40)..]
        );
    }
    assert!(!text.as_bytes().contains(&0x1b), "{what}: ESC in {text:?}");
    for line in text.lines() {
        assert!(
            !line.trim_start().starts_with("FAKE LINE"),
            "{what}: a forged line: {text}"
        );
    }
}

/// The one line of `text` that contains `needle`.
fn the_line<'a>(text: &'a str, needle: &str) -> &'a str {
    let lines: Vec<&str> = text.lines().filter(|l| l.contains(needle)).collect();
    assert_eq!(lines.len(), 1, "one line with {needle:?} in:\n{text}");
    lines[0]
}

fn write_module(dir: &Path) -> String {
    let module = hostile_module();
    wasmparser::Validator::new()
        .validate_all(&module)
        .expect("valid: the names are UTF-8, only odd");
    std::fs::write(dir.join("hostile.wasm"), module).unwrap();
    "hostile.wasm".into()
}

#[test]
fn inspect_prints_each_hostile_name_escaped_on_its_own_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_module(dir.path());
    let (code, stdout, stderr) = common::run_in(dir.path(), &["inspect", &file]);
    assert_eq!(code, 0, "{stderr}");
    assert_inert("inspect", &stdout);
    // Each item on one line, with what it hides written out.
    assert!(the_line(&stdout, "env\\x1b]0;pwned\\x07").trim() == "env\\x1b]0;pwned\\x07");
    assert!(the_line(&stdout, "f\\r\\nFAKE LINE: PASS").starts_with("    f\\r\\nFAKE LINE: PASS"));
    assert!(the_line(&stdout, "fd_read\\x1b[2J\\x1b[H").starts_with("    fd_read"));
    assert!(the_line(&stdout, "e\\x1b[2J\\x1b[H\\u{202e}\\u{9b}31m").contains("func"));
    assert!(the_line(&stdout, "custom \"c\\r\\nFAKE LINE: PASS\"").contains("bytes at"));
    assert!(
        the_line(&stdout, "toolchain").contains("lang\\x1b]0;pwned\\x07 1\\r\\nFAKE LINE: PASS")
    );
    assert!(
        the_line(&stdout, "path  ").contains("example.com/app\\x1b]0;pwned\\x07\\rFAKE LINE: PASS")
    );
    assert!(the_line(&stdout, "mod   ").contains("example.com/app\\x1b[2J\\x1b[H (devel)"));
    assert!(the_line(&stdout, "dep   ").contains("evil.example/x\\u{202e}gnp.exe v1.0.0"));
    assert!(the_line(&stdout, "build GOOS").contains("GOOS=wasip1\\x1b[31m\\rFAKE LINE: PASS"));

    // JSON keeps the real names (escaped the JSON way), untouched by the human escaping.
    let (code, json, _) = common::run_in(dir.path(), &["inspect", &file, "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let names: Vec<&str> = v["imports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"f\r\nFAKE LINE: PASS"), "{names:?}");
    assert!(!json.as_bytes().contains(&0x1b));
}

#[test]
fn check_and_its_annotations_print_hostile_names_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_module(dir.path());
    // A policy that the module breaks with every hostile import and export it has.
    std::fs::write(
        dir.path().join("strict.toml"),
        "extends = \"wasip1-default\"\n[exports]\nforbid = [\"e*\"]\n",
    )
    .unwrap();
    let (code, stdout, stderr) =
        common::run_in(dir.path(), &["check", &file, "--policy", "strict.toml"]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert_inert("check", &stdout);
    assert!(stdout.starts_with("FAIL hostile.wasm: "), "{stdout}");
    the_line(&stdout, "f\\r\\nFAKE LINE: PASS");
    the_line(&stdout, "env\\x1b]0;pwned\\x07");
    the_line(&stdout, "e\\x1b[2J\\x1b[H\\u{202e}\\u{9b}31m");

    // With --github: one `::error` line per violation, as inert as the report.
    let (code, stdout, stderr) = common::run_in(
        dir.path(),
        &["check", &file, "--policy", "strict.toml", "--github"],
    );
    assert_eq!(code, 1, "{stderr}");
    assert_inert("check --github", &stdout);
    let annotations: Vec<&str> = stdout.lines().filter(|l| l.starts_with("::")).collect();
    assert!(annotations.len() >= 3, "{stdout}");
    assert!(
        annotations.iter().all(|l| l.starts_with("::error ")),
        "{stdout}"
    );
    let report_lines = stdout.lines().filter(|l| !l.starts_with("::")).count();
    let violations = stdout.lines().filter(|l| l.starts_with("  error[")).count();
    assert_eq!(annotations.len(), violations, "{stdout}");
    assert!(report_lines > violations);
}

#[test]
fn check_of_a_passing_hostile_module_is_one_escaped_line() {
    let dir = tempfile::tempdir().unwrap();
    // The file's name is hostile too: the PASS line quotes it.
    let file = format!("m{CLEAR}{FORGED}.wasm");
    std::fs::rename(
        dir.path().join(write_module(dir.path())),
        dir.path().join(&file),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("any.toml"),
        "extends = \"permissive\"\n[imports]\ncheck-signatures = false\n",
    )
    .unwrap();
    let (code, stdout, stderr) =
        common::run_in(dir.path(), &["check", &file, "--policy", "any.toml"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_inert("check (pass)", &stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(
        stdout.starts_with("PASS m\\x1b[2J\\x1b[H\\r\\nFAKE LINE: PASS.wasm: "),
        "{stdout}"
    );
}

#[test]
fn strip_names_hostile_sections_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_module(dir.path());
    let (code, stdout, stderr) = common::run_in(
        dir.path(),
        &["strip", &file, "-o", "out.wasm", "--delete", "c*"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_inert("strip", &stdout);
    assert!(the_line(&stdout, "custom:c\\r\\nFAKE LINE: PASS").starts_with("removed "));
}

#[test]
fn an_error_quoting_a_hostile_path_stays_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("missing{TITLE}{FORGED}.wasm");
    for command in ["inspect", "check"] {
        let (code, stdout, stderr) = common::run_in(dir.path(), &[command, &name]);
        common::assert_clean_error(code, &stdout, &stderr, command);
        assert_inert(command, &stderr);
        assert!(
            stderr.contains("missing\\x1b]0;pwned\\x07\\r\\nFAKE LINE: PASS.wasm: cannot read"),
            "{stderr}"
        );
    }
}

/// A registry that answers every request with `status` and `body`, until dropped.
struct Answering {
    port: u16,
}

fn answering(status: &'static str, body: String) -> Answering {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    Answering { port }
}

#[test]
fn a_registrys_hostile_error_message_stays_one_capped_line() {
    let message = format!(
        "denied{TITLE}{CLEAR}{FORGED}\u{202e}{}",
        "x".repeat(100_000)
    );
    let body = serde_json::json!({
        "errors": [{ "code": format!("DENIED{FORGED}"), "message": message }]
    })
    .to_string();
    let registry = answering("400 Bad Request", body);
    let dir = tempfile::tempdir().unwrap();
    let reference = format!("127.0.0.1:{}/demo/app:v1", registry.port);
    for verbose in [false, true] {
        let mut args = vec!["pull", reference.as_str(), "-o", "out.wasm"];
        if verbose {
            args.push("-v");
        }
        let (code, stdout, stderr) = common::run_in(dir.path(), &args);
        assert_eq!(code, 2, "{stderr}");
        assert!(stdout.is_empty(), "{stdout}");
        assert_inert("pull", &stderr);
        let line = the_line(&stderr, "error: ");
        assert!(line.starts_with("error: "), "{stderr}");
        assert!(
            line.contains("DENIED\\r\\nFAKE LINE: PASS: denied\\x1b]0;pwned\\x07\\x1b[2J\\x1b[H\\r\\nFAKE LINE: PASS\\u{202e}xxx"),
            "{line}"
        );
        // Capped: the 100,000 characters are not all printed, and the line says how many there were.
        assert!(line.len() < 2000, "{} bytes", line.len());
        assert!(
            line.contains(&format!(
                "... ({} characters in all)",
                message.chars().count()
            )),
            "{line}"
        );
        if !verbose {
            assert_eq!(stderr.lines().count(), 1, "{stderr}");
        }
    }
}

#[test]
fn doctor_lines_quote_hostile_paths_and_settings_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let key = format!("k{TITLE}{FORGED}.pem");
    let (code, stdout, stderr) = common::wasipack()
        .args(["doctor", "--key", &key])
        .env("SOURCE_DATE_EPOCH", format!("1{CLEAR}{FORGED}"))
        .env("GO", "no-such-go")
        .env("TINYGO", "no-such-tinygo")
        .current_dir(dir.path())
        .output()
        .map(common::decode)
        .unwrap();
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert_inert("doctor", &stdout);
    assert!(
        the_line(&stdout, "key k\\x1b]0;pwned\\x07\\r\\nFAKE LINE: PASS.pem").starts_with("FAIL "),
        "{stdout}"
    );
    assert!(
        the_line(&stdout, "SOURCE_DATE_EPOCH")
            .contains("`1\\x1b[2J\\x1b[H\\r\\nFAKE LINE: PASS` is not a Unix time"),
        "{stdout}"
    );
}

/// Success lines escape what they did not write, as errors do (issue 13, item 5): a `pull -o`
/// path and a pushed layout's reference carrying ESC and CR reach the terminal as `\x1b` and
/// `\r`, never raw. (`policy show` prints a file that loaded: TOML allows no control
/// character in it but a tab.)
#[test]
fn success_lines_of_push_and_pull_escape_control_characters() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("m.wasm"), b"\0asm\x01\0\0\0").unwrap();
    let layout = "lay\x1b]0;TITLE\x07out";
    let (code, stdout, stderr) =
        common::run_in(d, &["push", "m.wasm", &format!("oci-layout:{layout}:v1")]);
    assert_eq!(code, 0, "{stderr}");
    let out = "out\x1b[2J\rFAKE LINE: PASS.wasm";
    let (code, pulled, stderr) =
        common::run_in(d, &["pull", &format!("oci-layout:{layout}:v1"), "-o", out]);
    assert_eq!(code, 0, "{stderr}");
    assert!(d.join(out).exists());
    for text in [&stdout, &stderr, &pulled] {
        assert!(
            !text.contains('\x1b') && !text.contains('\r') && !text.contains('\x07'),
            "raw control characters in {text:?}"
        );
    }
    assert!(stdout.contains("lay\\x1b]0;TITLE\\x07out"), "{stdout}");
    assert!(
        pulled.contains("out\\x1b[2J\\rFAKE LINE: PASS.wasm"),
        "{pulled}"
    );
}

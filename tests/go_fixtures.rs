//! Real Go-built modules (testdata/gen-go-fixtures.sh builds them with this machine's Go).

mod common;

use serde_json::Value;

fn json(args: &[&str]) -> (i32, Value) {
    let (code, stdout, stderr) = common::run(args);
    assert!(code == 0 || code == 1, "{args:?}: exit {code}: {stderr}");
    (
        code,
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {stdout}")),
    )
}

fn path(t: &common::Tools, name: &str) -> String {
    t.go_fixture(name).display().to_string()
}

fn rules(report: &Value) -> Vec<(String, String)> {
    report["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["rule"].as_str().unwrap().to_string(),
                v["item"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn hello_is_a_go_wasip1_command_with_fd_write_folded() {
    let t = common::require!("go");
    let (_, m) = json(&["inspect", &path(&t, "hello"), "--json"]);
    assert_eq!(m["schema"], "wasipack.inspect/v1");
    assert_eq!(m["abi"], "wasip1-command");
    assert_eq!(m["toolchain"]["name"], "go");
    assert!(m["toolchain"]["version"]
        .as_str()
        .unwrap()
        .starts_with("go1."));
    assert!(m["toolchain"]["build_id"].is_string());
    let imports = m["imports"].as_array().unwrap();
    let fd_write = imports.iter().find(|i| i["name"] == "fd_write").unwrap();
    assert_eq!(fd_write["count"], 2);
    assert_eq!(fd_write["signature"], "(i32, i32, i32, i32) -> i32");
    assert!(imports
        .iter()
        .all(|i| i["module"] == "wasi_snapshot_preview1"));
    assert_eq!(m["capabilities"]["io"].as_array().unwrap().len(), 4);
    let features: Vec<&str> = m["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(
        features.contains(&"bulk-memory-opt") && features.contains(&"sign-extension"),
        "{features:?}"
    );
    let sections: Vec<&str> = m["sections"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(sections, ["go:buildid", "producers", "name"]);
    assert_eq!(
        m["go_build_info"]["path"],
        "example.com/wasipack-fixtures/hello"
    );
    assert_eq!(m["memories"][0]["maximum_pages"], Value::Null);
}

#[test]
fn stripped_build_has_no_name_section() {
    let t = common::require!("go");
    let (_, m) = json(&["inspect", &path(&t, "hello-stripped"), "--json"]);
    assert!(m["sections"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["name"] != "name"));
}

#[test]
fn hello_passes_default_and_sandboxed() {
    let t = common::require!("go");
    for policy in ["wasip1-default", "wasip1-sandboxed"] {
        let (code, r) = json(&["check", &path(&t, "hello"), "--policy", policy, "--json"]);
        assert_eq!(code, 0, "{policy}: {:?}", rules(&r));
        assert_eq!(r["passed"], true);
    }
}

#[test]
fn files_program_breaks_sandbox_with_its_write_imports() {
    let t = common::require!("go");
    let (code, _) = json(&["check", &path(&t, "files"), "--json"]);
    assert_eq!(code, 0);
    let (code, r) = json(&[
        "check",
        &path(&t, "files"),
        "--policy",
        "wasip1-sandboxed",
        "--json",
    ]);
    assert_eq!(code, 1);
    let items: Vec<String> = rules(&r)
        .into_iter()
        .map(|(rule, item)| format!("{rule} {item}"))
        .collect();
    assert_eq!(
        items,
        [
            "imports.deny-capabilities wasi_snapshot_preview1::path_create_directory",
            "imports.deny-capabilities wasi_snapshot_preview1::path_remove_directory",
            "imports.deny-capabilities wasi_snapshot_preview1::path_unlink_file",
        ]
    );
}

#[test]
fn socket_server_breaks_sandbox_with_sock_accept() {
    let t = common::require!("go");
    let (code, r) = json(&[
        "check",
        &path(&t, "netserver"),
        "--policy",
        "wasip1-sandboxed",
        "--json",
    ]);
    assert_eq!(code, 1);
    let found = rules(&r);
    assert!(
        found.contains(&(
            "imports.deny-capabilities".into(),
            "wasi_snapshot_preview1::sock_accept".into()
        )),
        "{found:?}"
    );
}

#[test]
fn reactor_passes_the_reactor_policy_and_default_says_why_not() {
    let t = common::require!("go");
    let (code, m) = json(&[
        "check",
        &path(&t, "reactor"),
        "--policy",
        "wasip1-reactor",
        "--json",
    ]);
    assert_eq!(code, 0);
    assert_eq!(m["module"]["abi"], "wasip1-reactor");
    let exports: Vec<&str> = m["module"]["exports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(
        exports.contains(&"add") && exports.contains(&"_initialize"),
        "{exports:?}"
    );
    let (code, stdout, _) = common::run(&["check", &path(&t, "reactor")]);
    assert_eq!(code, 1);
    assert!(
        stdout.contains(
            "hint: this is a reactor (-buildmode=c-shared); check it with --policy wasip1-reactor"
        ),
        "{stdout}"
    );
}

#[test]
fn goos_js_build_is_the_wrong_abi_with_a_hint() {
    let t = common::require!("go");
    let (code, stdout, _) = common::run(&["check", &path(&t, "js")]);
    assert_eq!(code, 1);
    assert!(stdout.contains("ABI `gojs`"), "{stdout}");
    assert!(
        stdout.contains("rebuild with GOOS=wasip1 GOARCH=wasm"),
        "{stdout}"
    );
}

#[test]
fn sarif_and_github_annotations_for_a_violation() {
    let t = common::require!("go");
    let dir = tempfile::tempdir().unwrap();
    let sarif = dir.path().join("out.sarif");
    let (code, stdout, _) = common::run(&[
        "check",
        &path(&t, "netserver"),
        "--policy",
        "wasip1-sandboxed",
        "--sarif",
        sarif.to_str().unwrap(),
        "--github",
    ]);
    assert_eq!(code, 1);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("::error "))
        .expect("an annotation");
    assert!(
        line.contains("title=wasipack imports.deny-capabilities::"),
        "{line}"
    );
    let log: Value = serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    assert_eq!(log["version"], "2.1.0");
    let result = &log["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "imports.deny-capabilities");
    assert!(result["locations"][0]["physicalLocation"]["region"]["byteOffset"].is_u64());
    assert_eq!(
        log["runs"][0]["artifacts"][0]["hashes"]["sha-256"]
            .as_str()
            .unwrap()
            .len(),
        64
    );
}

#[test]
fn github_actions_env_turns_annotations_on_and_json_keeps_stdout_clean() {
    let t = common::require!("go");
    let out = common::wasipack()
        .args(["check", &path(&t, "js"), "--json"])
        .env("GITHUB_ACTIONS", "true")
        .output()
        .unwrap();
    let (code, stdout, stderr) = common::decode(out);
    assert_eq!(code, 1);
    serde_json::from_str::<Value>(&stdout).expect("stdout is only JSON");
    assert!(
        stderr.lines().any(|l| l.starts_with("::error ")),
        "{stderr}"
    );
}

#[test]
fn the_quick_toolchain_and_build_info_lookups_agree_with_a_full_inspection() {
    let t = common::require!("go");
    for name in ["hello", "files", "reactor", "netserver"] {
        let bytes = std::fs::read(t.go_fixture(name)).unwrap();
        let full = wasipack::wasm::inspect_module(&bytes).unwrap();
        let quick = wasipack::wasm::inspect::toolchain_quick(&bytes);
        assert_eq!(quick.name, full.toolchain.name, "{name}");
        assert_eq!(quick.version, full.toolchain.version, "{name}");
        let info = wasipack::wasm::modinfo::find(&bytes, 0).unwrap();
        let full_info = full.go_build_info.unwrap();
        assert_eq!(info.path, full_info.path, "{name}");
        assert_eq!(info.deps, full_info.deps, "{name}");
        assert_eq!(info.offset, full_info.offset, "{name}");
    }
}

//! The composite GitHub Action (`action.yml`), run as a runner runs it by
//! tests/tools/run_action.py (there is no GitHub runner here): a real build of the bundled
//! example, pushed to crane's registry on 127.0.0.1 and signed, then verified; a policy
//! violation with its annotations and SARIF log; and the static checks of the YAML. Then the
//! files the Action's steps rely on, written by wasipack itself: `--github-summary` and
//! `--github-output` of build, push, sign and attest, byte for byte, hostile values included.

mod common;

use common::{copy_tree, decode, repo, wasipack, Tools};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const PASSWORD: &str = "action-key-password";

/// A temporary directory holding `ws/` (the workspace, with the example in `ws/hello`),
/// `temp/` (RUNNER_TEMP), `docker/` (DOCKER_CONFIG) and `cache/` (WASIPACK_CACHE).
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&repo().join("examples/hello"), &dir.path().join("ws/hello"));
    for sub in ["temp", "docker", "cache"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
    }
    dir
}

/// `wasipack generate-key-pair` into DIR/cosign.key and DIR/cosign.pub.
fn keys(dir: &Path) -> (PathBuf, PathBuf) {
    let prefix = dir.join("cosign");
    let out = wasipack()
        .args(["generate-key-pair", "--output-key-prefix"])
        .arg(&prefix)
        .env("COSIGN_PASSWORD", PASSWORD)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let (code, _, err) = decode(out);
    assert_eq!(code, 0, "generate-key-pair: {err}");
    (dir.join("cosign.key"), dir.join("cosign.pub"))
}

fn runner(t: &Tools) -> Command {
    let mut cmd = Command::new(t.venv_python());
    cmd.arg(repo().join("tests/tools/run_action.py"));
    // The runner sets what a GitHub runner sets; nothing of a CI job running these tests
    // (which is itself on GitHub Actions) may leak in.
    for var in [
        "GITHUB_TOKEN",
        "GITHUB_ACTOR",
        "GITHUB_REPOSITORY",
        "GITHUB_SHA",
        "GITHUB_SERVER_URL",
        "GITHUB_OUTPUT",
        "GITHUB_STEP_SUMMARY",
        "GITHUB_ENV",
        "GITHUB_PATH",
        "WASIPACK_SIGNING_KEY",
        "COSIGN_PASSWORD",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// Runs action.yml in `dir` (see `workspace`) with `inputs` and extra environment; returns the
/// runner's JSON result.
fn run_action(t: &Tools, dir: &Path, inputs: &[(&str, &str)], env: &[(&str, &str)]) -> Value {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_wasipack"));
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = runner(t);
    cmd.arg(repo().join("action.yml"))
        .arg("--workspace")
        .arg(dir.join("ws"))
        .arg("--runner-temp")
        .arg(dir.join("temp"));
    for (name, value) in inputs {
        cmd.arg("--input").arg(format!("{name}={value}"));
    }
    cmd.env("WASIPACK_BIN", &bin)
        .env("PATH", path)
        .env("DOCKER_CONFIG", dir.join("docker"))
        .env("WASIPACK_CACHE", dir.join("cache"))
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .env("NO_COLOR", "1");
    for (name, value) in env {
        cmd.env(name, value);
    }
    let out = cmd
        .output()
        .expect("python3 runs tests/tools/run_action.py");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.trim_start().starts_with('{'),
        "run_action.py printed no result (exit {:?}): {stderr}{stdout}",
        out.status.code()
    );
    let result = json(&stdout);
    assert_eq!(
        Some(result["exit_code"].as_i64().unwrap() as i32),
        out.status.code(),
        "the runner exits with the action's exit code"
    );
    result
}

/// The runner's result, for assertion messages.
fn dump(result: &Value) -> String {
    format!(
        "exit {}\n--- stdout\n{}\n--- stderr\n{}\n--- summary\n{}\n--- outputs\n{}\n--- static check\n{}",
        result["exit_code"],
        result["stdout"].as_str().unwrap_or(""),
        result["stderr"].as_str().unwrap_or(""),
        result["summary"].as_str().unwrap_or(""),
        result["outputs"],
        result["static_check"]
    )
}

fn output<'a>(result: &'a Value, name: &str) -> &'a str {
    result["outputs"][name]
        .as_str()
        .unwrap_or_else(|| panic!("no output {name}: {}", dump(result)))
}

fn outcomes(result: &Value) -> Vec<(String, String)> {
    result["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap().to_string(),
                s["outcome"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn read_json(path: &str) -> Value {
    json(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}")))
}

#[test]
fn the_action_builds_checks_pushes_and_signs_the_example_and_verify_accepts_it() {
    let t = common::require!("go", "crane", "venv");
    let registry = t.crane_registry();
    let dir = workspace();
    let (key, public) = keys(dir.path());
    let key_pem = std::fs::read_to_string(&key).unwrap();
    // Capitals, as in `ghcr.io/${{ github.repository }}`: the action lowercases the name and
    // keeps the tag.
    let push = format!("{}/Owner/Hello:1", registry.host());
    let result = run_action(
        &t,
        dir.path(),
        &[
            ("working-directory", "hello"),
            ("policy", "wasip1-default"),
            ("push", &push),
            ("sign", "true"),
        ],
        &[
            ("WASIPACK_SIGNING_KEY", &key_pem),
            ("COSIGN_PASSWORD", PASSWORD),
        ],
    );
    assert_eq!(result["exit_code"], 0, "{}", dump(&result));
    assert!(
        result["static_check"]["errors"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{}",
        dump(&result)
    );

    // Outputs.
    let digest = output(&result, "digest");
    assert!(
        digest.starts_with("sha256:") && digest.len() == 71,
        "{digest}"
    );
    let reference = output(&result, "ref");
    assert_eq!(
        reference,
        format!("{}/owner/hello@{digest}", registry.host())
    );
    assert_eq!(output(&result, "verdict"), "pass");
    let ws = dir.path().join("ws");
    let wasm = output(&result, "wasm-path");
    assert_eq!(
        Path::new(wasm),
        ws.join("hello/dist/hello.wasm"),
        "{}",
        dump(&result)
    );
    assert!(Path::new(wasm).is_file());
    let sbom = output(&result, "sbom-path");
    assert!(sbom.ends_with("hello.spdx.json"), "{sbom}");
    assert_eq!(read_json(sbom)["spdxVersion"], "SPDX-2.3");
    let report = read_json(output(&result, "report-path"));
    assert_eq!(report["schema"], "wasipack.build/v1");
    let module = &report["modules"][0];
    assert_eq!(module["manifest_digest"], digest);
    let sarif = read_json(output(&result, "sarif-path"));
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "wasipack");
    assert_eq!(run["results"].as_array().unwrap().len(), 0);
    // Named relative to the workspace (the repository root), as code scanning wants.
    assert_eq!(
        run["artifacts"][0]["location"]["uri"],
        "hello/dist/hello.wasm"
    );

    // The summary: verdict, ABI, imports by capability, sizes, digest, SBOM count, signatures.
    let summary = result["summary"].as_str().unwrap();
    let needles: Vec<String> = vec![
        "✅ pass".into(),
        "`wasip1-default`".into(),
        "`wasip1-command`".into(),
        "Imports by capability".into(),
        "| io | `fd_write`".into(),
        format!(
            "{} bytes compiled",
            group(module["size_compiled"].as_u64().unwrap())
        ),
        format!(
            "{} bytes after strip",
            group(module["size"].as_u64().unwrap())
        ),
        digest.into(),
        format!("| SBOM packages | {} ", module["sbom_packages"]),
        format!("**Pushed:** `{reference}`"),
        "**Signatures made:** 1 signature and 2 attestations (SPDX, SLSA provenance)".into(),
    ];
    for needle in &needles {
        assert!(
            summary.contains(needle.as_str()),
            "summary lacks {needle:?}:\n{summary}"
        );
    }
    assert!(
        !result["annotations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["command"] == "error"),
        "{}",
        dump(&result)
    );
    // The key written from WASIPACK_SIGNING_KEY does not outlive the step.
    let leftover = walk(&dir.path().join("temp"))
        .into_iter()
        .find(|p| p.ends_with("signing.key"));
    assert_eq!(leftover, None);

    // The cache step is a `uses:` step: listed, not run (wasipack came from WASIPACK_BIN).
    let skipped = result["skipped_uses"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert!(skipped[0]["uses"]
        .as_str()
        .unwrap()
        .starts_with("actions/cache@"));
    assert_eq!(skipped[0]["condition_true"], false);

    // A consumer verifies the signature and the SPDX attestation, by digest and by tag.
    let tag = format!("{}/owner/hello:1", registry.host());
    for r in [reference, tag.as_str()] {
        let out = wasipack()
            .args(["verify", r, "--key"])
            .arg(&public)
            .args([
                "--require-attestation",
                "spdx,slsa",
                "--policy",
                "wasip1-default",
            ])
            .env("DOCKER_CONFIG", dir.path().join("docker"))
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let (code, out, err) = decode(out);
        assert_eq!(code, 0, "verify {r}: {err}{out}");
        assert!(out.contains("verified"), "{out}");
    }
}

#[test]
fn a_policy_violation_fails_the_action_with_annotations_on_the_policy_line_and_a_sarif_log() {
    let t = common::require!("go", "crane", "venv");
    let registry = t.crane_registry();
    let dir = workspace();
    // The file name has a `,`: annotation properties must escape it (`%2C`).
    let policy_dir = dir.path().join("ws/hello/ci");
    std::fs::create_dir_all(&policy_dir).unwrap();
    std::fs::write(
        policy_dir.join("no-stdio,v1.toml"),
        "# The service must not write to stdout or stderr.\n\
         extends = \"wasip1-default\"\n\
         \n\
         [imports]\n\
         deny-capabilities = [\"io\"]\n",
    )
    .unwrap();
    let push = format!("{}/owner/hello:1", registry.host());
    let result = run_action(
        &t,
        dir.path(),
        &[
            ("working-directory", "hello"),
            ("policy", "ci/no-stdio,v1.toml"),
            ("push", &push),
        ],
        &[],
    );
    assert_eq!(result["exit_code"], 1, "{}", dump(&result));
    assert_eq!(output(&result, "verdict"), "fail");
    // Nothing written, pushed or signed.
    assert_eq!(output(&result, "wasm-path"), "");
    assert_eq!(output(&result, "digest"), "");
    assert!(!dir.path().join("ws/hello/dist").exists());
    let steps = outcomes(&result);
    for (id, outcome) in [
        ("build", "failure"),
        ("push", "skipped"),
        ("sign", "skipped"),
    ] {
        assert!(
            steps.contains(&(id.to_string(), outcome.to_string())),
            "{id} should be {outcome}: {steps:?}"
        );
    }

    // One annotation per violation, on line 5 of the policy file, named from the workspace
    // root, with `,` escaped in the property.
    let stdout = result["stdout"].as_str().unwrap();
    assert!(
        stdout.contains(
            "::error file=hello/ci/no-stdio%2Cv1.toml,line=5,title=wasipack imports.deny-capabilities::"
        ),
        "{}",
        dump(&result)
    );
    let errors: Vec<&Value> = result["annotations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["command"] == "error")
        .collect();
    assert!(!errors.is_empty(), "{}", dump(&result));
    for a in &errors {
        assert_eq!(a["properties"]["file"], "hello/ci/no-stdio,v1.toml", "{a}");
        assert_eq!(a["properties"]["line"], "5", "{a}");
    }
    assert!(
        errors.iter().any(|a| a["message"]
            .as_str()
            .unwrap()
            .contains("wasi_snapshot_preview1::fd_write grants capability `io`")),
        "{errors:?}"
    );

    // The SARIF log is written all the same, its results pointing at the policy line.
    let sarif_path = output(&result, "sarif-path");
    assert!(Path::new(sarif_path).is_file(), "{}", dump(&result));
    let sarif = read_json(sarif_path);
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), errors.len());
    let related = &results[0]["relatedLocations"][0]["physicalLocation"];
    assert_eq!(
        related["artifactLocation"]["uri"],
        "hello/ci/no-stdio,v1.toml"
    );
    assert_eq!(related["region"]["startLine"], 5);

    let summary = result["summary"].as_str().unwrap();
    for needle in [
        "❌ fail",
        "of policy `ci/no-stdio,v1.toml`",
        "nothing was written, pushed or signed",
        "`wasip1-command`",
        "hello/ci/no-stdio,v1.toml:5",
        "`wasi_snapshot_preview1::fd_write`",
        "Imports by capability",
    ] {
        assert!(
            summary.contains(needle),
            "summary lacks {needle:?}:\n{summary}"
        );
    }
}

/// Runs the runner's static checks alone on `action`.
fn check_only(t: &Tools, action: &Path) -> Value {
    let out = runner(t)
        .arg(action)
        .arg("--check-only")
        .output()
        .expect("python3 runs tests/tools/run_action.py");
    json(&String::from_utf8(out.stdout).unwrap())
}

fn errors(result: &Value) -> Vec<String> {
    result["static_check"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_action_yaml_declares_every_input_it_uses_and_sets_every_output_it_declares() {
    let t = common::require!("venv");
    let result = check_only(&t, &repo().join("action.yml"));
    assert_eq!(result["exit_code"], 0, "{}", dump(&result));
    assert_eq!(errors(&result), Vec::<String>::new());
    assert_eq!(
        result["static_check"]["warnings"],
        serde_json::json!([]),
        "every declared input is used"
    );

    let text = std::fs::read_to_string(repo().join("action.yml")).unwrap();
    let broken = |from: &str, to: &str| {
        let changed = text.replacen(from, to, 1);
        assert_ne!(changed, text, "action.yml has no {from:?} any more");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("action.yml");
        std::fs::write(&path, changed).unwrap();
        let result = check_only(&t, &path);
        assert_eq!(result["exit_code"], 3, "{}", dump(&result));
        errors(&result)
    };

    // An input used but not declared.
    let found = broken("PUSH: ${{ inputs.push }}", "PUSH: ${{ inputs.push-to }}");
    assert!(
        found
            .iter()
            .any(|e| e.contains("`inputs.push-to` is not declared")),
        "{found:?}"
    );
    // An input pasted into a script instead of going through env.
    let found = broken("cd \"$WORKDIR\"", "cd \"${{ inputs.working-directory }}\"");
    assert!(
        found
            .iter()
            .any(|e| e.contains("is pasted into the `run:` script text")),
        "{found:?}"
    );
    // A declared output that no step writes: one that `wasipack build --github-output` does
    // not write, and one that the setup script does not.
    let found = broken(
        "steps.build.outputs.sarif-path",
        "steps.build.outputs.sarif_path",
    );
    assert!(
        found
            .iter()
            .any(|e| e.contains("step `build` never writes `sarif_path`")),
        "{found:?}"
    );
    let found = broken("\"sbom-first=$sbom_first\"", "\"sbom_first=$sbom_first\"");
    assert!(
        found
            .iter()
            .any(|e| e.contains("step `setup` never writes `sbom-first`")),
        "{found:?}"
    );
}

/// 1234567 -> "1,234,567", as the summary prints sizes.
fn group(n: u64) -> String {
    let reversed: Vec<char> = n.to_string().chars().rev().collect();
    let groups: Vec<String> = reversed
        .chunks(3)
        .map(|chunk| chunk.iter().rev().collect())
        .collect();
    groups.into_iter().rev().collect::<Vec<_>>().join(",")
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                found.extend(walk(&path));
            } else {
                found.push(path);
            }
        }
    }
    found
}

// --- `--github-summary` and `--github-output`, run as any other command -----------------

/// The capability groups in the order the summary lists them.
const CAPABILITIES: [&str; 10] = [
    "args",
    "environment",
    "clock",
    "random",
    "io",
    "filesystem-read",
    "filesystem-write",
    "sockets",
    "poll",
    "process",
];

/// Asserts that `text` is exactly `before` followed by a `NAME<<DELIM` block per entry of
/// `expected`, with one delimiter that occurs in no value, and returns that delimiter.
fn assert_outputs(text: &str, before: &str, expected: &[(&str, String)]) -> String {
    let rest = text
        .strip_prefix(before)
        .unwrap_or_else(|| panic!("the outputs file lost what it held:\n{text}"));
    let first = rest.lines().next().unwrap_or_default();
    let delim = first
        .split_once("<<")
        .map(|(_, d)| d.to_string())
        .unwrap_or_else(|| panic!("not a NAME<<DELIM line: {first:?}"));
    assert!(delim.starts_with("ghadelimiter_"), "{delim}");
    let mut want = before.to_string();
    for (name, value) in expected {
        assert!(!value.contains(&delim), "{name}: {value:?} holds {delim}");
        want.push_str(&format!("{name}<<{delim}\n{value}\n{delim}\n"));
    }
    assert_eq!(text, want);
    delim
}

fn build_outputs(values: &[(&'static str, String)]) -> Vec<(&'static str, String)> {
    [
        "verdict",
        "name",
        "wasm-path",
        "spdx-path",
        "cyclonedx-path",
        "report-path",
        "sarif-path",
        "digest",
        "ref",
        "layout",
        "tag",
    ]
    .into_iter()
    .map(|name| {
        let value = values.iter().find(|(n, _)| *n == name);
        (name, value.map(|(_, v)| v.clone()).unwrap_or_default())
    })
    .collect()
}

/// The capability table of the summary for `module` (a wasipack.inspect/v1 or the `module`
/// of a wasipack.check/v1 document), and the blank line after it.
fn capability_table(module: &Value) -> String {
    let imports = module["imports"].as_array().unwrap();
    let mut text = format!(
        "#### Imports by capability ({} distinct imports)\n\n| Capability | Imports |\n|---|---|\n",
        imports.len()
    );
    for group in CAPABILITIES {
        if let Some(names) = module["capabilities"][group].as_array() {
            let names: Vec<String> = names
                .iter()
                .map(|n| format!("`{}`", n.as_str().unwrap()))
                .collect();
            text.push_str(&format!("| {group} | {} |\n", names.join(", ")));
        }
    }
    let none: Vec<String> = imports
        .iter()
        .filter(|i| i["capabilities"].as_array().unwrap().is_empty())
        .map(|i| {
            format!(
                "`{}::{}`",
                i["module"].as_str().unwrap(),
                i["name"].as_str().unwrap()
            )
        })
        .collect();
    if !none.is_empty() {
        text.push_str(&format!("| (none) | {} |\n", none.join(", ")));
    }
    text.push('\n');
    text
}

/// A `wasipack` in `dir` with no GitHub variables of the job running the tests.
fn wasipack_in(dir: &Path) -> Command {
    let mut cmd = wasipack();
    cmd.current_dir(dir)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .stdin(std::process::Stdio::null());
    for var in [
        "GITHUB_SERVER_URL",
        "GITHUB_REPOSITORY",
        "GITHUB_SHA",
        "GITHUB_OUTPUT",
        "GITHUB_STEP_SUMMARY",
        "GITHUB_TOKEN",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

#[test]
fn build_appends_the_job_summary_and_the_step_outputs_to_the_files_it_is_given() {
    common::require!("go");
    let dir = workspace();
    let ws = dir.path().join("ws");
    let project = ws.join("hello");
    let (summary, outputs) = (dir.path().join("summary.md"), dir.path().join("output"));
    std::fs::write(&summary, "earlier\n").unwrap();
    std::fs::write(&outputs, "earlier=1\n").unwrap();
    let sarif = dir.path().join("check.sarif");
    let out = wasipack_in(&project)
        .args(["build", "--sarif"])
        .arg(&sarif)
        .arg("--repo-root")
        .arg(&ws)
        .arg("--github-summary")
        .arg(&summary)
        .arg("--github-output")
        .arg(&outputs)
        .output()
        .unwrap();
    let (code, stdout, stderr) = decode(out);
    assert_eq!(code, 0, "{stderr}{stdout}");

    let report = read_json(project.join("dist/report.json").to_str().unwrap());
    let m = &report["modules"][0];
    let s = |v: &Value| v.as_str().unwrap().to_string();
    let dist = project.join("dist");
    let path = |p: &Value| dist.join(p.as_str().unwrap()).display().to_string();
    let digest = s(&m["manifest_digest"]);
    assert_outputs(
        &std::fs::read_to_string(&outputs).unwrap(),
        "earlier=1\n",
        &build_outputs(&[
            ("verdict", "pass".into()),
            ("name", "hello".into()),
            ("wasm-path", path(&m["wasm"])),
            ("spdx-path", path(&m["spdx"])),
            ("cyclonedx-path", path(&m["cyclonedx"])),
            (
                "report-path",
                dist.join("report.json").display().to_string(),
            ),
            ("sarif-path", sarif.display().to_string()),
            ("digest", digest.clone()),
            (
                "ref",
                format!("oci-layout:{}@{digest}", dist.join("oci").display()),
            ),
            ("layout", dist.join("oci").display().to_string()),
            ("tag", "hello".into()),
        ]),
    );

    let out = wasipack_in(&project)
        .args(["inspect", "dist/hello.wasm", "--json"])
        .output()
        .unwrap();
    let (code, inspected, err) = decode(out);
    assert_eq!(code, 0, "{err}");
    let inspected = json(&inspected);
    let (before, after) = (
        m["size_compiled"].as_u64().unwrap(),
        m["size"].as_u64().unwrap(),
    );
    let change = after as f64 - before as f64;
    let sign = if after >= before { "+" } else { "-" };
    let want = format!(
        "earlier\n\
         ### wasipack: `hello` ✅ pass\n\
         \n\
         | | |\n\
         |---|---|\n\
         | Verdict | ✅ pass: the module meets policy `wasip1-default` |\n\
         | ABI | `wasip1-command` ({}) |\n\
         | Toolchain | {} (`go`) |\n\
         | Module | `hello/dist/hello.wasm`, sha256 `{}` |\n\
         | Size | {} bytes compiled → {} bytes after strip ({sign}{} bytes, {:+.1}%) |\n\
         | Digest | `{digest}` (OCI manifest, tag `hello` in `hello/dist/oci`) |\n\
         | SBOM packages | {} (dependency modules; SPDX `hello.spdx.json`, CycloneDX `hello.cdx.json`) |\n\
         \n\
         {}",
        s(&inspected["abi_description"]),
        s(&m["toolchain_version"]),
        s(&m["sha256"]),
        group(before),
        group(after),
        group(before.abs_diff(after)),
        100.0 * change / before as f64,
        m["sbom_packages"],
        capability_table(&inspected),
    );
    assert_eq!(std::fs::read_to_string(&summary).unwrap(), want);
}

#[test]
fn a_rejected_build_writes_its_violations_and_no_value_can_forge_an_output_or_an_annotation() {
    common::require!("go");
    let dir = workspace();
    let ws = dir.path().join("ws");
    let project = ws.join("hello");
    // A policy file whose name tries to end its annotation and start another workflow
    // command, and holds `|` (a table cell) and `,` (an annotation property).
    let evil = "ci/x|y,z\n::error::forged\nverdict<<EOF.toml";
    std::fs::create_dir_all(project.join("ci")).unwrap();
    std::fs::write(
        project.join(evil),
        "extends = \"wasip1-default\"\n\n[imports]\ndeny-capabilities = [\"io\"]\n",
    )
    .unwrap();
    let (summary, outputs) = (dir.path().join("summary.md"), dir.path().join("output"));
    let (sarif, kept) = (dir.path().join("check.sarif"), dir.path().join("rejected"));
    let out = wasipack_in(&project)
        .args(["build", "--github", "--policy", evil, "--sarif"])
        .arg(&sarif)
        .arg("--repo-root")
        .arg(&ws)
        .arg("--keep-rejected")
        .arg(&kept)
        .arg("--github-summary")
        .arg(&summary)
        .arg("--github-output")
        .arg(&outputs)
        .env("GITHUB_SERVER_URL", "https://github.example")
        .env("GITHUB_REPOSITORY", "owner/repo")
        .env("GITHUB_SHA", "0123abc")
        .output()
        .unwrap();
    let (code, stdout, stderr) = decode(out);
    assert_eq!(code, 1, "{stderr}{stdout}");
    assert!(!project.join("dist").exists());

    assert_outputs(
        &std::fs::read_to_string(&outputs).unwrap(),
        "",
        &build_outputs(&[
            ("verdict", "fail".into()),
            ("sarif-path", sarif.display().to_string()),
        ]),
    );

    // Every annotation is one line; the file name is escaped in it.
    let file = "hello/ci/x|y%2Cz%0A%3A%3Aerror%3A%3Aforged%0Averdict<<EOF.toml";
    let commands: Vec<&str> = stderr.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(commands.len(), 4, "{stderr}");
    for line in &commands {
        assert!(
            line.starts_with(&format!(
                "::error file={file},line=4,title=wasipack imports.deny-capabilities::"
            )),
            "{line}"
        );
    }

    // The summary: one line per table row, the file's line linked on GitHub; the rejected
    // module kept and measured.
    let text = std::fs::read_to_string(&summary).unwrap();
    let check = read_json(sarif.to_str().unwrap());
    assert_eq!(check["runs"][0]["results"].as_array().unwrap().len(), 4);
    let kept_report = read_json(kept.join("report.json").to_str().unwrap());
    let k = &kept_report["modules"][0];
    let cell_name = "ci/x\\|y,z ::error::forged verdict<<EOF.toml";
    let linked = "[hello/ci/x\\|y,z ::error::forged verdict<<EOF.toml:4](https://github.example/owner/repo/blob/0123abc/hello/ci/x\\|y,z ::error::forged verdict<<EOF.toml#L4)";
    let (before, after) = (
        k["size_compiled"].as_u64().unwrap(),
        k["size"].as_u64().unwrap(),
    );
    let mut want = format!(
        "### wasipack: `hello` ❌ fail\n\
         \n\
         | | |\n\
         |---|---|\n\
         | Verdict | ❌ fail: 4 violations of policy `{cell_name}`; nothing was written, pushed or signed |\n\
         | ABI | `wasip1-command` (WASI preview1 command (_start)) |\n\
         | Size | {} bytes compiled → {} bytes after strip (-{} bytes, {:+.1}%) |\n\
         | SBOM packages | {} (dependency modules) |\n\
         | Rejected module | `{}` (kept for inspection, not published) |\n\
         \n\
         #### Violations\n\
         \n\
         | Rule | Item | Set at | Message |\n\
         |---|---|---|---|\n",
        group(before),
        group(after),
        group(before - after),
        100.0 * (after as f64 - before as f64) / before as f64,
        k["sbom_packages"],
        kept.join("hello.wasm").display(),
    );
    for name in [
        "fd_write",
        "fd_close",
        "fd_fdstat_get",
        "fd_fdstat_set_flags",
    ] {
        want.push_str(&format!(
            "| `imports.deny-capabilities` | `wasi_snapshot_preview1::{name}` | {linked} | \
             import wasi_snapshot_preview1::{name} grants capability `io`, which the policy denies |\n"
        ));
    }
    let out = wasipack_in(&kept)
        .args(["inspect", "hello.wasm", "--json"])
        .output()
        .unwrap();
    let (_, inspected, _) = decode(out);
    want.push('\n');
    want.push_str(&capability_table(&json(&inspected)));
    assert_eq!(text, want);
    assert!(
        !text
            .lines()
            .any(|l| l.starts_with("::") || l == "verdict<<EOF.toml"),
        "{text}"
    );
}

#[test]
fn a_build_that_fails_says_so_in_the_summary_and_the_outputs() {
    common::require!("go");
    let dir = workspace();
    let project = dir.path().join("ws/hello");
    let (summary, outputs) = (dir.path().join("summary.md"), dir.path().join("output"));
    let out = wasipack_in(&project)
        .args(["build", "--github", "--policy", "no-such-policy"])
        .arg("--github-summary")
        .arg(&summary)
        .arg("--github-output")
        .arg(&outputs)
        .output()
        .unwrap();
    let (code, stdout, stderr) = decode(out);
    assert_eq!(code, 2, "{stderr}{stdout}");
    assert!(
        stderr.contains("::error title=wasipack build::wasipack build failed: policy "),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(&summary).unwrap(),
        "### wasipack ❌ error\n\n`wasipack build` failed (exit 2): a compile error, a missing \
         toolchain or a configuration error; see the log.\n"
    );
    assert_outputs(
        &std::fs::read_to_string(&outputs).unwrap(),
        "",
        &build_outputs(&[("verdict", "error".into())]),
    );
}

#[test]
fn push_sign_and_attest_write_what_they_published() {
    common::require!("go");
    let dir = workspace();
    let project = dir.path().join("ws/hello");
    let (key, _) = keys(dir.path());
    let out = wasipack_in(&project).arg("build").output().unwrap();
    let (code, _, err) = decode(out);
    assert_eq!(code, 0, "{err}");
    let (summary, outputs) = (dir.path().join("summary.md"), dir.path().join("output"));
    let github = |cmd: &mut Command| {
        cmd.arg("--github-summary")
            .arg(&summary)
            .arg("--github-output")
            .arg(&outputs)
            .env("COSIGN_PASSWORD", PASSWORD);
    };

    // A push with --key: the artifact, then what was signed.
    let target = format!("oci-layout:{}:v1", dir.path().join("pushed").display());
    let mut cmd = wasipack_in(&project);
    cmd.args([
        "push",
        "oci-layout:dist/oci:hello",
        &target,
        "--json",
        "--key",
    ])
    .arg(&key);
    github(&mut cmd);
    let (code, stdout, err) = decode(cmd.output().unwrap());
    assert_eq!(code, 0, "{err}");
    let pushed = &json(&stdout)["pushed"][0];
    let (reference, digest) = (
        pushed["reference"].as_str().unwrap().to_string(),
        pushed["digest"].as_str().unwrap().to_string(),
    );
    let referrers = pushed["referrers"].as_array().unwrap().len();
    let mut want_summary = format!(
        "**Pushed:** `{reference}` (tag `v1`, {referrers} SBOM referrers)\n\n\
         **Signatures made:** 1 signature and 2 attestations (SPDX, SLSA provenance) on `{reference}`\n"
    );
    assert_eq!(std::fs::read_to_string(&summary).unwrap(), want_summary);
    let text = std::fs::read_to_string(&outputs).unwrap();
    assert_outputs(
        &text,
        "",
        &[
            ("digest", digest),
            ("ref", reference.clone()),
            ("pushed", "true".into()),
            ("target", target),
            ("signatures", "1".into()),
            ("attestations", "2".into()),
        ],
    );

    // `sign` and `attest` append their own lines and outputs.
    let mut cmd = wasipack_in(&project);
    cmd.args(["sign", &reference, "--key"]).arg(&key);
    github(&mut cmd);
    let (code, _, err) = decode(cmd.output().unwrap());
    assert_eq!(code, 0, "{err}");
    let mut cmd = wasipack_in(&project);
    cmd.args(["attest", &reference, "--type", "cyclonedx", "--predicate"])
        .arg(project.join("dist/hello.cdx.json"))
        .arg("--key")
        .arg(&key);
    github(&mut cmd);
    let (code, _, err) = decode(cmd.output().unwrap());
    assert_eq!(code, 0, "{err}");
    want_summary.push_str(&format!(
        "**Signatures made:** 1 signature and 0 attestations on `{reference}`\n\
         **Attestations made:** 1 attestation (CycloneDX) on `{reference}`\n"
    ));
    assert_eq!(std::fs::read_to_string(&summary).unwrap(), want_summary);
    let after_push = std::fs::read_to_string(&outputs).unwrap();
    let rest = after_push.strip_prefix(&text).unwrap();
    let split = rest.find("signatures<<").unwrap_or(0);
    let second = rest[1..].find("signatures<<").map(|i| i + 1).unwrap();
    assert_eq!(split, 0);
    assert_outputs(
        &rest[..second],
        "",
        &[("signatures", "1".into()), ("attestations", "0".into())],
    );
    assert_outputs(
        &rest[second..],
        "",
        &[("signatures", "0".into()), ("attestations", "1".into())],
    );
}

#[test]
fn an_output_value_with_newlines_and_commands_stays_one_output() {
    common::require!("go");
    let dir = workspace();
    let ws = dir.path().join("ws");
    let project = ws.join("hello");
    // The output directory names every path output: it tries to end its block, set
    // `verdict`, and run a workflow command.
    let hostile = "out\nverdict<<EOF\npass\nEOF\n::error::forged\nghadelimiter_0";
    let (summary, outputs) = (dir.path().join("summary.md"), dir.path().join("output"));
    let out = wasipack_in(&project)
        .args(["build", "-o", hostile, "--repo-root"])
        .arg(&ws)
        .arg("--github-summary")
        .arg(&summary)
        .arg("--github-output")
        .arg(&outputs)
        .output()
        .unwrap();
    let (code, stdout, stderr) = decode(out);
    assert_eq!(code, 0, "{stderr}{stdout}");
    let dist = project.join(hostile);
    let report = read_json(dist.join("report.json").to_str().unwrap());
    let digest = report["modules"][0]["manifest_digest"]
        .as_str()
        .unwrap()
        .to_string();
    let path = |p: &str| dist.join(p).display().to_string();
    let delim = assert_outputs(
        &std::fs::read_to_string(&outputs).unwrap(),
        "",
        &build_outputs(&[
            ("verdict", "pass".into()),
            ("name", "hello".into()),
            ("wasm-path", path("hello.wasm")),
            ("spdx-path", path("hello.spdx.json")),
            ("cyclonedx-path", path("hello.cdx.json")),
            ("report-path", path("report.json")),
            ("digest", digest.clone()),
            ("ref", format!("oci-layout:{}@{digest}", path("oci"))),
            ("layout", path("oci")),
            ("tag", "hello".into()),
        ]),
    );
    assert_ne!(delim, "EOF");
    // In the summary, each path stays in its table row.
    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(
        text.contains(
            "| Module | `hello/out verdict<<EOF pass EOF ::error::forged ghadelimiter_0/hello.wasm`, sha256 `"
        ),
        "{text}"
    );
    assert!(!text.lines().any(|l| l.starts_with("::")), "{text}");
}

#[test]
fn sign_keyless_signs_with_the_jobs_oidc_token_and_verify_accepts_the_workflow_identity() {
    let t = common::require!("go", "crane", "venv", "sigstore");
    let stack = t.sigstore_stack();
    let registry = t.crane_registry();
    let dir = workspace();
    let push = format!("{}/owner/keyless:1", registry.host());
    let config = stack.signing_config().display().to_string();
    let root = stack.trusted_root().display().to_string();
    let env = stack.actions_env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let result = run_action(
        &t,
        dir.path(),
        &[
            ("working-directory", "hello"),
            ("push", &push),
            ("sign", "keyless"),
            ("signing-config", &config),
            ("trusted-root", &root),
        ],
        &env,
    );
    assert_eq!(result["exit_code"], 0, "{}", dump(&result));
    // The trust root reaches the signing step: each bundle is checked against it.
    let stdout = result["stdout"].as_str().unwrap_or_default();
    assert!(
        stdout.contains(&format!(
            "--keyless --signing-config {config} --trusted-root {root}"
        )),
        "{stdout}"
    );
    let reference = output(&result, "ref").to_string();
    let (code, out, err) = common::run(&[
        "verify",
        &reference,
        "--certificate-identity",
        &stack.identity(),
        "--certificate-oidc-issuer",
        &stack.issuer(),
        "--trusted-root",
        &stack.trusted_root().display().to_string(),
        "--insecure-ignore-sct",
        "--require-attestation",
        "spdx,slsa",
    ]);
    assert_eq!(code, 0, "{out}{err}");
}

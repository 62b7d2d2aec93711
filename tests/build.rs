//! `wasipack build` with the real Go toolchain: outputs, runtime behaviour, SBOM validity by
//! the official validators, third-party readers of the OCI layout, reproducibility, and every
//! kind of bad input leaving no partial output. The input checks that refuse before Go runs need
//! no Go.

mod common;

use common::{copy_tree, repo};
use serde_json::Value;
use std::path::Path;

const EPOCH: &str = "1700000000";

/// A fresh copy of testdata/go-dep, outside the repository.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&repo().join("testdata/go-dep"), dir.path());
    dir
}

fn build(dir: &Path, args: &[&str]) -> (i32, String, String) {
    common::decode(build_command(dir).arg(dir).args(args).output().unwrap())
}

/// `wasipack build` for the project in `dir`, with a fixed SOURCE_DATE_EPOCH and its own cache.
fn build_command(dir: &Path) -> std::process::Command {
    let mut c = common::wasipack();
    c.arg("build")
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .env("WASIPACK_CACHE", dir.join(".cache"));
    c
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn a_command_with_a_real_dependency_builds_runs_and_carries_valid_sboms() {
    let t = common::require!("go", "wazero", "venv", "skopeo", "oras");
    let p = project();
    let (code, stdout, stderr) = build(p.path(), &["--name", "dep", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["schema"], "wasipack.build/v1");
    let m = &report["modules"][0];
    assert_eq!(m["passed"], true);
    assert_eq!(m["abi"], "wasip1-command");
    assert!(
        m["size"].as_u64().unwrap() < m["size_compiled"].as_u64().unwrap(),
        "name section stripped"
    );
    let dist = p.path().join("dist");
    let written = json(&dist.join("report.json"));
    assert_eq!(written["modules"][0]["sha256"], m["sha256"]);
    // The output digests the report records (provenance lists them) are those of the files
    // written: the module's is taken from its check, not hashed again.
    let digests = written["modules"][0]["digests"].as_object().unwrap();
    assert_eq!(digests.len(), 3, "{digests:?}");
    for (name, digest) in digests {
        let bytes = std::fs::read(dist.join(name)).unwrap();
        assert_eq!(
            digest.as_str(),
            Some(wasipack::digest::sha256_digest(&bytes).as_str()),
            "{name}"
        );
    }

    // It runs, with arguments and a preopened directory.
    std::fs::write(p.path().join("x.txt"), "hello from x.txt").unwrap();
    let mount = format!("{}:/data", p.path().display());
    let (code, out, err) = t.run(
        "wazero",
        &[
            "run",
            "-mount",
            &mount,
            "-env",
            "DEP_FILE=/data/x.txt",
            dist.join("dep.wasm").to_str().unwrap(),
            "a",
            "b",
        ],
        p.path(),
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("uuid: 5eaa3eea-fd97-5e3a-8d60-66f6d8ef15ad"),
        "{out}"
    );
    assert!(
        out.contains(r#"args: ["a" "b"]"#) && out.contains("hello from x.txt"),
        "{out}"
    );

    // The SBOMs pass the official validators and name the dependency with purl and hash.
    for (format, file) in [("spdx", "dep.spdx.json"), ("cyclonedx", "dep.cdx.json")] {
        let validator = repo().join("tests/tools/validate_sbom.py");
        let (code, out, err) = t.run(
            "venv",
            &[
                validator.to_str().unwrap(),
                format,
                dist.join(file).to_str().unwrap(),
            ],
            p.path(),
        );
        assert_eq!(code, 0, "{format}: {out}{err}");
    }
    let spdx = json(&dist.join("dep.spdx.json"));
    let uuid = spdx["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "github.com/google/uuid")
        .expect("uuid package");
    assert_eq!(
        uuid["externalRefs"][0]["referenceLocator"],
        "pkg:golang/github.com/google/uuid@v1.6.0?type=module"
    );
    assert_eq!(
        uuid["checksums"][0]["checksumValue"],
        "348bda24330eb231c0f27d630212d2833ac0cf2d4782bfa136b6f9edefbde05d"
    );
    assert_eq!(
        spdx["packages"][0]["checksums"][0]["checksumValue"], m["sha256"],
        "the subject is the final wasm"
    );
    assert_eq!(spdx["creationInfo"]["created"], "2023-11-14T22:13:20Z");
    let cdx = json(&dist.join("dep.cdx.json"));
    assert!(cdx["components"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["purl"] == "pkg:golang/github.com/google/uuid@v1.6.0?type=module"));

    // Third-party readers of the layout see our media types and the SBOM referrers.
    let layout = dist.join("oci");
    let oci_ref = format!("{}:dep", layout.display());
    let (code, raw, err) = t.run(
        "skopeo",
        &["inspect", "--raw", &format!("oci:{oci_ref}")],
        p.path(),
    );
    assert_eq!(code, 0, "skopeo: {err}");
    let manifest: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.wasm.config.v0+json"
    );
    assert_eq!(manifest["layers"][0]["mediaType"], "application/wasm");
    assert_eq!(
        manifest["layers"][0]["annotations"]["org.opencontainers.image.created"],
        Value::Null
    );
    let (code, fetched, err) = t.run(
        "oras",
        &["manifest", "fetch", "--oci-layout", &oci_ref],
        p.path(),
    );
    assert_eq!(code, 0, "oras: {err}");
    assert_eq!(serde_json::from_str::<Value>(&fetched).unwrap(), manifest);
    let (code, discovered, err) = t.run(
        "oras",
        &["discover", "--oci-layout", &oci_ref, "--format", "json"],
        p.path(),
    );
    assert_eq!(code, 0, "oras discover: {err}");
    let types: Vec<String> = serde_json::from_str::<Value>(&discovered).unwrap()["referrers"]
        .as_array()
        .expect("referrers list")
        .iter()
        .map(|r| r["artifactType"].as_str().unwrap().to_string())
        .collect();
    assert!(
        types.contains(&"application/spdx+json".into())
            && types.contains(&"application/vnd.cyclonedx+json".into()),
        "{types:?}"
    );
    let pulled = tempfile::tempdir().unwrap();
    let (code, _, err) = t.run(
        "oras",
        &[
            "pull",
            "--oci-layout",
            &oci_ref,
            "-o",
            pulled.path().to_str().unwrap(),
        ],
        p.path(),
    );
    assert_eq!(code, 0, "oras pull: {err}");
    assert_eq!(
        std::fs::read(pulled.path().join("dep.wasm")).unwrap(),
        std::fs::read(dist.join("dep.wasm")).unwrap()
    );
}

/// `go ARGS` in `dir` for wasip1, as wasipack runs it: its standard output, after it succeeded.
fn go_wasip1(t: &common::tiers::Tools, dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = t
        .command("go")
        .args(args)
        .envs([("GOOS", "wasip1"), ("GOARCH", "wasm"), ("CGO_ENABLED", "0")])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "go {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The saved `go list` outputs in the project's cache.
fn saved_listings(p: &Path) -> Vec<String> {
    walk(&p.join(".cache/obj"))
        .into_iter()
        .filter(|f| f.ends_with("go-list.json"))
        .collect()
}

#[test]
fn the_sbom_takes_the_module_list_go_embedded_which_equals_go_lists() {
    let t = common::require!("go");
    let p = project();
    let (code, _, err) = build(p.path(), &["--name", "wasipack-dep"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        saved_listings(p.path()).is_empty(),
        "every module hashed in the build info: no `go list` run, none saved"
    );
    let wasm = std::fs::read(p.path().join("dist/wasipack-dep.wasm")).unwrap();
    let info = wasipack::wasm::modinfo::find(&wasm, 0).expect("build info");
    let embedded = wasipack::build::toolchain::modules_from_build_info(&info).expect("complete");
    let out = go_wasip1(
        &t,
        p.path(),
        &["list", "-deps", "-json=ImportPath,Standard,Module", "."],
    );
    let listed = wasipack::build::toolchain::modules_from_go_list(&out).unwrap();
    assert_eq!(embedded.main, listed.main);
    assert_eq!(embedded.deps, listed.deps);
    assert!(
        embedded
            .deps
            .iter()
            .any(|d| d.path == "github.com/google/uuid"),
        "{:?}",
        embedded.deps
    );
    // Drop the dependency: the SBOM follows the new package graph.
    std::fs::write(
        p.path().join("main.go"),
        "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"no deps\") }\n",
    )
    .unwrap();
    let (code, _, err) = build(p.path(), &["--name", "wasipack-dep"]);
    assert_eq!(code, 0, "{err}");
    let sbom = std::fs::read_to_string(p.path().join("dist/wasipack-dep.spdx.json")).unwrap();
    assert!(!sbom.contains("google/uuid"), "{sbom}");
    assert!(sbom.contains("pkg:golang/example.com/wasipack-dep?type=module"));
}

#[test]
fn with_a_directory_replacement_go_list_is_reused_only_while_the_build_id_is_unchanged() {
    common::require!("go");
    let p = project();
    // A dependency replaced by a directory has no version and no hash in the build info:
    // the module list comes from `go list`, saved beside the compile output.
    std::fs::create_dir(p.path().join("greet")).unwrap();
    std::fs::write(
        p.path().join("greet/go.mod"),
        "module example.com/greet\n\ngo 1.21\n",
    )
    .unwrap();
    std::fs::write(
        p.path().join("greet/greet.go"),
        "package greet\n\nfunc Hi() string { return \"hi\" }\n",
    )
    .unwrap();
    let go_mod = std::fs::read_to_string(p.path().join("go.mod")).unwrap();
    std::fs::write(
        p.path().join("go.mod"),
        format!(
            "{go_mod}\nrequire example.com/greet v0.0.0\n\nreplace example.com/greet => ./greet\n"
        ),
    )
    .unwrap();
    let program = |imports: &str, body: &str| {
        std::fs::write(
            p.path().join("main.go"),
            format!("package main\n\nimport (\n\t\"fmt\"\n{imports})\n\nfunc main() {{ fmt.Println({body}) }}\n"),
        )
        .unwrap();
    };
    program("\t\"example.com/greet\"\n", "greet.Hi()");
    let sbom = |p: &Path| std::fs::read_to_string(p.join("dist/wasipack-dep.spdx.json")).unwrap();
    let has_uuid =
        |text: &str| text.contains("pkg:golang/github.com/google/uuid@v1.6.0?type=module");
    let (code, _, err) = build(p.path(), &["--name", "wasipack-dep"]);
    assert_eq!(code, 0, "{err}");
    let first = sbom(p.path());
    assert!(
        first.contains("pkg:golang/example.com/greet?type=module"),
        "{first}"
    );
    assert!(!has_uuid(&first));
    assert_eq!(
        saved_listings(p.path()).len(),
        1,
        "the listing is saved beside the compile output"
    );
    let (code, _, err) = build(p.path(), &["--name", "wasipack-dep"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(sbom(p.path()), first, "same build, same SBOM");
    // Add a dependency: the build ID changes, so the saved listing must not be used.
    program(
        "\t\"example.com/greet\"\n\t\"github.com/google/uuid\"\n",
        "greet.Hi(), uuid.NameSpaceURL",
    );
    let (code, _, err) = build(p.path(), &["--name", "wasipack-dep"]);
    assert_eq!(code, 0, "{err}");
    let second = sbom(p.path());
    assert!(has_uuid(&second), "the SBOM follows the new package graph");
    assert!(second.contains("pkg:golang/example.com/greet?type=module"));
}

/// Each output file's bytes and modification time.
fn snapshot(dist: &Path) -> Vec<(String, Vec<u8>, std::time::SystemTime)> {
    let mut files: Vec<_> = walk(dist)
        .into_iter()
        .map(|f| {
            let bytes = std::fs::read(&f).unwrap();
            let time = std::fs::metadata(&f).unwrap().modified().unwrap();
            (f, bytes, time)
        })
        .collect();
    files.sort();
    files
}

#[test]
fn an_up_to_date_build_writes_nothing_and_any_change_packages_again() {
    common::require!("go");
    let p = project();
    let dist = p.path().join("dist");
    let args = ["--name", "dep", "--json"];
    let (code, first_report, err) = build(p.path(), &args);
    assert_eq!(code, 0, "{err}");
    let first = snapshot(&dist);

    // Nothing changed: the same report, and not one output rewritten.
    let (code, report, err) = build(p.path(), &args);
    assert_eq!(code, 0, "{err}");
    assert_eq!(report, first_report);
    assert_eq!(
        snapshot(&dist),
        first,
        "same bytes, same modification times"
    );

    // The same build named from inside the project: reused, and reported where it is now.
    let out = build_command(p.path())
        .args([".", "--name", "dep"])
        .current_dir(p.path())
        .output()
        .unwrap();
    let (code, stdout, err) = common::decode(out);
    assert_eq!(code, 0, "{err}");
    assert!(
        stdout.starts_with("built ./dist/dep.wasm sha256:"),
        "{stdout}"
    );
    assert_eq!(snapshot(&dist), first);

    // --force packages and writes again: same bytes, new files.
    let (code, report, err) = build(p.path(), &["--name", "dep", "--json", "--force"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(report, first_report);
    let forced = snapshot(&dist);
    let bytes = |s: &[(String, Vec<u8>, std::time::SystemTime)]| -> Vec<Vec<u8>> {
        s.iter().map(|(_, b, _)| b.clone()).collect()
    };
    assert_eq!(bytes(&forced), bytes(&first));
    let wasm = dist.join("dep.wasm").display().to_string();
    let time_of = |s: &[(String, Vec<u8>, std::time::SystemTime)]| {
        s.iter().find(|(f, _, _)| *f == wasm).unwrap().2
    };
    assert_ne!(time_of(&forced), time_of(&first), "rewritten");

    // An output touched since: packaged and written again, whole.
    std::fs::write(dist.join("dep.wasm"), b"not the module").unwrap();
    let (code, report, err) = build(p.path(), &args);
    assert_eq!(code, 0, "{err}");
    assert_eq!(report, first_report);
    assert_eq!(bytes(&snapshot(&dist)), bytes(&first));

    // Another policy: checked and packaged again.
    let (code, report, err) = build(
        p.path(),
        &["--name", "dep", "--json", "--policy", "permissive"],
    );
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["modules"][0]["policy"], "permissive");

    // A change in the source: a new module.
    std::fs::write(
        p.path().join("main.go"),
        "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"changed\") }\n",
    )
    .unwrap();
    let (code, report, err) = build(
        p.path(),
        &["--name", "dep", "--json", "--policy", "permissive"],
    );
    assert_eq!(code, 0, "{err}");
    let changed: Value = serde_json::from_str(&report).unwrap();
    assert_ne!(changed["modules"][0]["sha256"], report_sha(&first_report));
    assert_eq!(
        std::fs::read(dist.join("dep.wasm")).unwrap().len() as u64,
        changed["modules"][0]["size"].as_u64().unwrap()
    );
}

fn report_sha(report: &str) -> Value {
    serde_json::from_str::<Value>(report).unwrap()["modules"][0]["sha256"].clone()
}

fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = e.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path.display().to_string());
        }
    }
    out
}

#[test]
fn a_reactor_builds_with_the_reactor_policy() {
    common::require!("go");
    let p = project();
    let (code, stdout, stderr) = build(
        p.path(),
        &["--package", "./reactor", "--mode", "reactor", "--json"],
    );
    assert_eq!(code, 0, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["modules"][0]["name"], "reactor");
    assert_eq!(report["modules"][0]["policy"], "wasip1-reactor");
    assert_eq!(report["modules"][0]["abi"], "wasip1-reactor");
}

#[test]
fn a_policy_violation_fails_the_build_and_writes_nothing() {
    common::require!("go");
    let p = project();
    let sarif = p.path().join("build.sarif");
    let (code, stdout, stderr) = build(
        p.path(),
        &[
            "--package",
            "./bad",
            "--sarif",
            sarif.to_str().unwrap(),
            "--github",
        ],
    );
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stdout.contains("imports.check-signatures") && stdout.contains("path_open"),
        "{stdout}"
    );
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert!(!p.path().join("dist").exists());
    // The SARIF log and the annotations are written all the same, naming the module.
    let log = json(&sarif);
    assert_eq!(log["version"], "2.1.0");
    let result = &log["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "imports.check-signatures", "{log}");
    assert!(
        stderr.contains("::error file=") && stderr.contains("dist/bad.wasm,title="),
        "{stderr}"
    );
}

#[test]
fn two_checkouts_built_at_different_times_give_identical_bytes_and_digests() {
    common::require!("go");
    let (a, b) = (project(), project());
    let (code, out_a, err) = build(a.path(), &["--name", "dep", "--json"]);
    assert_eq!(code, 0, "{err}");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let (code, out_b, err) = build(
        b.path(),
        &["--name", "dep", "--json", "--verify-reproducible"],
    );
    assert_eq!(code, 0, "{err}");
    let (ra, rb): (Value, Value) = (
        serde_json::from_str(&out_a).unwrap(),
        serde_json::from_str(&out_b).unwrap(),
    );
    assert_eq!(ra["modules"][0]["sha256"], rb["modules"][0]["sha256"]);
    assert_eq!(
        ra["modules"][0]["manifest_digest"],
        rb["modules"][0]["manifest_digest"]
    );
    assert_eq!(rb["modules"][0]["reproducible"], true);
    for f in ["dep.wasm", "dep.spdx.json", "dep.cdx.json"] {
        assert_eq!(
            std::fs::read(a.path().join("dist").join(f)).unwrap(),
            std::fs::read(b.path().join("dist").join(f)).unwrap(),
            "{f}"
        );
    }
}

#[test]
fn a_config_file_builds_several_modules_in_parallel() {
    let t = common::require!("go", "oras");
    let p = project();
    std::fs::write(
        p.path().join("wasipack.toml"),
        "[build]\ntag = \"v1\"\n\n[[module]]\nname = \"cli\"\npackage = \".\"\n\n[[module]]\npackage = \"./reactor\"\nmode = \"reactor\"\ntag = \"r1\"\n",
    )
    .unwrap();
    let (code, stdout, stderr) = build(p.path(), &["--jobs", "2", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let names: Vec<&str> = report["modules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["cli", "reactor"]);
    let index = json(&p.path().join("dist/oci/index.json"));
    let tags: Vec<&str> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["annotations"]["org.opencontainers.image.ref.name"].as_str())
        .collect();
    assert_eq!(tags, ["v1", "r1"]);
    assert_eq!(
        index["manifests"].as_array().unwrap().len(),
        6,
        "two artifacts, two SBOM referrers each"
    );
    // Built again unchanged: both modules up to date, nothing written.
    let before = snapshot(&p.path().join("dist"));
    let (code, again, stderr) = build(p.path(), &["--jobs", "2", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(again, stdout);
    assert_eq!(snapshot(&p.path().join("dist")), before);
    // One module changed: it is built anew, the other is packaged from what Go left as is.
    std::fs::write(
        p.path().join("main.go"),
        "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"one changed\") }\n",
    )
    .unwrap();
    let (code, mixed, stderr) = build(p.path(), &["--jobs", "2", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let (old, new): (Value, Value) = (
        serde_json::from_str(&stdout).unwrap(),
        serde_json::from_str(&mixed).unwrap(),
    );
    assert_ne!(old["modules"][0]["sha256"], new["modules"][0]["sha256"]);
    assert_eq!(
        old["modules"][1], new["modules"][1],
        "the reactor is unchanged"
    );
    // A changed build moves the tag; the old artifact's referrers leave the index with it.
    std::fs::write(
        p.path().join("main.go"),
        "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"v2\") }\n",
    )
    .unwrap();
    let (code, _, stderr) = build(p.path(), &["--package", "."]);
    assert_eq!(code, 0, "{stderr}");
    let index = json(&p.path().join("dist/oci/index.json"));
    assert_eq!(index["manifests"].as_array().unwrap().len(), 6, "{index}");
    let layout_ref = format!("{}:v1", p.path().join("dist/oci").display());
    let (code, out, err) = t.run(
        "oras",
        &["discover", "--oci-layout", &layout_ref, "--format", "json"],
        p.path(),
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap()["referrers"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn package_picks_its_config_entry_and_one_output_name_cannot_cover_several_modules() {
    common::require!("go");
    let p = project();
    std::fs::write(
        p.path().join("wasipack.toml"),
        "[[module]]\nname = \"cli\"\npackage = \".\"\n\n[[module]]\nname = \"lib\"\npackage = \"./reactor\"\nmode = \"reactor\"\n",
    )
    .unwrap();
    let (code, stdout, stderr) = build(p.path(), &["--package", "./reactor", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["modules"][0]["name"], "lib");
    assert_eq!(report["modules"][0]["policy"], "wasip1-reactor");
    assert_eq!(
        report["modules"][0]["wasm"], "lib.wasm",
        "paths are relative to the output directory"
    );
    std::fs::remove_dir_all(p.path().join("dist")).unwrap();
    let (code, stdout, stderr) = build(p.path(), &["--name", "x"]);
    common::assert_clean_error(code, &stdout, &stderr, "--name with two modules");
    assert!(stderr.contains("--name names one output"), "{stderr}");
    std::fs::write(
        p.path().join("wasipack.toml"),
        "[[module]]\nname = \"same\"\npackage = \".\"\n\n[[module]]\nname = \"same\"\npackage = \"./reactor\"\nmode = \"reactor\"\n",
    )
    .unwrap();
    let (code, stdout, stderr) = build(p.path(), &[]);
    common::assert_clean_error(code, &stdout, &stderr, "duplicate names");
    assert!(stderr.contains("would both write same.wasm"), "{stderr}");
    assert_nothing_written(p.path());
}

fn assert_nothing_written(dir: &Path) {
    assert!(!dir.join("dist").exists(), "dist/ was written");
}

#[test]
fn a_compile_error_passes_the_compilers_messages_and_status_through() {
    common::require!("go");
    let p = project();
    std::fs::write(
        p.path().join("main.go"),
        "package main\n\nfunc main() { undefinedThing() }\n",
    )
    .unwrap();
    let (code, stdout, stderr) = build(p.path(), &[]);
    assert_eq!(code, 1, "go build exits 1: {stderr}");
    assert!(stderr.contains("undefined: undefinedThing"), "{stderr}");
    assert!(
        stderr
            .lines()
            .last()
            .unwrap()
            .contains("its messages are above"),
        "{stderr}"
    );
    assert!(stdout.is_empty());
    assert_nothing_written(p.path());
}

#[test]
fn a_missing_package_is_an_error_with_nothing_written() {
    let p = project();
    let (code, stdout, stderr) = build(p.path(), &["--package", "./nope"]);
    common::assert_clean_error(code, &stdout, &stderr, "missing package");
    assert!(
        stderr.contains("package `./nope`: no such directory"),
        "{stderr}"
    );
    assert_nothing_written(p.path());
}

/// A `go` that reports an old version, as a shell script on PATH.
fn fake_go(version: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("go");
    std::fs::write(&script, format!("#!/bin/sh\n[ \"$1 $2\" = \"env GOVERSION\" ] && {{ echo {version}; exit 0; }}\nexec go \"$@\"\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

#[test]
fn too_old_a_go_is_refused_with_the_version_it_needs() {
    let p = project();
    for (version, args, needs) in [
        ("go1.20.14", vec![], "Go 1.21"),
        (
            "go1.23.4",
            vec!["--package", "./reactor", "--mode", "reactor"],
            "Go 1.24",
        ),
    ] {
        let fake = fake_go(version);
        let out = common::wasipack()
            .arg("build")
            .arg(p.path())
            .args(&args)
            .env("GO", fake.path().join("go"))
            .output()
            .unwrap();
        let (code, stdout, stderr) = common::decode(out);
        common::assert_clean_error(code, &stdout, &stderr, version);
        assert!(
            stderr.contains(needs) && stderr.contains(version),
            "{stderr}"
        );
        assert_nothing_written(p.path());
    }
}

#[test]
fn goos_js_and_unknown_config_keys_are_refused() {
    let p = project();
    std::fs::write(p.path().join("wasipack.toml"), "[build]\ntarget = \"js\"\n").unwrap();
    let (code, stdout, stderr) = build(p.path(), &[]);
    common::assert_clean_error(code, &stdout, &stderr, "js");
    assert!(
        stderr.contains("GOOS=js builds are for browsers"),
        "{stderr}"
    );
    std::fs::write(
        p.path().join("wasipack.toml"),
        "[build]\nmode = \"command\"\nldflag = \"-s\"\n",
    )
    .unwrap();
    let (code, stdout, stderr) = build(p.path(), &[]);
    common::assert_clean_error(code, &stdout, &stderr, "unknown key");
    assert!(
        stderr.contains("wasipack.toml:3:1: unknown field `ldflag`"),
        "{stderr}"
    );
    let (code, _, stderr) = build(p.path(), &["--target", "js"]);
    assert_eq!(code, 2, "{stderr}");
    assert_nothing_written(p.path());
}

#[test]
fn an_unwritable_output_fails_cleanly_and_leaves_nothing() {
    common::require!("go");
    let p = project();
    let blocker = p.path().join("blocker");
    std::fs::write(&blocker, "a file, not a directory").unwrap();
    let (code, stdout, stderr) = build(
        p.path(),
        &["--output", blocker.join("dist").to_str().unwrap()],
    );
    common::assert_clean_error(code, &stdout, &stderr, "unwritable");
    assert!(stderr.contains("cannot write"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&blocker).unwrap(),
        "a file, not a directory"
    );
    let stray: Vec<_> = std::fs::read_dir(p.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with(".wasipack"))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
}

#[test]
fn sbom_recovers_the_module_list_from_a_wasm_built_without_wasipack() {
    let t = common::require!("go", "venv");
    let p = project();
    let wasm = p.path().join("plain.wasm");
    go_wasip1(
        &t,
        p.path(),
        &["build", "-trimpath", "-o", wasm.to_str().unwrap(), "."],
    );
    for (format, file) in [("spdx", "plain.spdx.json"), ("cyclonedx", "plain.cdx.json")] {
        let path = p.path().join(file);
        let (code, _, err) = common::run(&[
            "sbom",
            wasm.to_str().unwrap(),
            "--format",
            format,
            "-o",
            path.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{err}");
        let validator = repo().join("tests/tools/validate_sbom.py");
        let (code, out, err) = t.run(
            "venv",
            &[validator.to_str().unwrap(), format, path.to_str().unwrap()],
            p.path(),
        );
        assert_eq!(code, 0, "{format}: {out}{err}");
        assert!(std::fs::read_to_string(&path)
            .unwrap()
            .contains("pkg:golang/github.com/google/uuid@v1.6.0?type=module"));
    }
    let (code, stdout, stderr) = common::run(&["sbom", t.go_fixture("js").to_str().unwrap()]);
    assert_eq!(code, 0, "GOOS=js binaries carry build info too: {stderr}");
    assert!(stdout.contains("SPDX-2.3"));
}

#[test]
fn tinygo_builds_only_where_tinygo_is_installed() {
    common::require!("tinygo", "go");
    // Where TinyGo is missing, its command lines are still unit-tested in src/build/toolchain.rs.
    let p = project();
    let (code, stdout, stderr) = build(
        p.path(),
        &["--toolchain", "tinygo", "--name", "dep-tinygo", "--json"],
    );
    assert_eq!(code, 0, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["modules"][0]["abi"], "wasip1-command");
}

#[test]
fn an_output_outside_the_project_is_named_on_stderr() {
    common::require!("go");
    let p = project();
    let elsewhere = tempfile::tempdir().unwrap();
    let out = elsewhere.path().join("out");
    let (code, _, stderr) = build(p.path(), &["-o", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let absolute = out.canonicalize().unwrap();
    assert!(
        stderr.contains(&format!(
            "wrote out to {} (outside the project)",
            absolute.display()
        )),
        "{stderr}"
    );
    assert!(absolute.join("report.json").is_file());
    // Inside the project (the default dist/): not a word.
    let (code, _, stderr) = build(p.path(), &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("outside the project"), "{stderr}");
}

/// `dist/` outputs go where their paths lead, as every other output does (issue 13, item 2
/// rule): a symlinked `dist/NAME.wasm` is written through (the link is kept) and the
/// symlinked report lands in the file it names.
#[test]
fn dist_outputs_that_are_symlinks_are_written_through() {
    let _t = common::require!("go");
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("hello");
    copy_tree(&repo().join("examples/hello"), &project);
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir_all(project.join("dist")).unwrap();
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::write(elsewhere.join("hello.wasm"), b"old").unwrap();
    std::os::unix::fs::symlink(
        elsewhere.join("hello.wasm"),
        project.join("dist/hello.wasm"),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        elsewhere.join("report.json"),
        project.join("dist/report.json"),
    )
    .unwrap();
    let (code, _, err) = build(&project, &[]);
    assert_eq!(code, 0, "{err}");
    for name in ["hello.wasm", "report.json"] {
        let link = project.join("dist").join(name);
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink(),
            "{name}: the link is kept"
        );
    }
    let module = std::fs::read(elsewhere.join("hello.wasm")).unwrap();
    assert!(
        module.starts_with(b"\0asm"),
        "the module went through the link"
    );
    json(&elsewhere.join("report.json"));
}

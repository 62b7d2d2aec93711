//! Reproducible anywhere, and `wasipack rebuild`: the same commit built in differently named
//! checkouts by different users gives the same `dist/` byte for byte; an artifact built, signed
//! and pushed is rebuilt from its source by its provenance, judged by cosign and `verify`.

mod common;

use common::{decode, repo, wasipack, Tools};
use std::path::{Path, PathBuf};
use std::process::Command;

const EPOCH: &str = "1700000000";

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.test"])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {:?}", out);
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A git repository holding the bundled example's program as module `module`, without a
/// `wasipack.toml` (so the module is named as `go build` names it); returns its directory.
fn origin(root: &Path, module: &str, config: bool) -> PathBuf {
    let dir = root.join("origin");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(repo().join("examples/hello/main.go"), dir.join("main.go")).unwrap();
    std::fs::write(dir.join("go.mod"), format!("module {module}\n\ngo 1.21\n")).unwrap();
    if config {
        std::fs::copy(
            repo().join("examples/hello/wasipack.toml"),
            dir.join("wasipack.toml"),
        )
        .unwrap();
    }
    git(&dir, &["init", "-q"]);
    git(&dir, &["add", "."]);
    git(&dir, &["commit", "-qm", "hello"]);
    dir
}

/// [`origin`] (the example as `example.com/hello`, with its `wasipack.toml`) and the builder's
/// clone of it, `builder-checkout`.
fn builder_checkout(dir: &Path) -> (PathBuf, PathBuf) {
    let origin = origin(dir, "example.com/hello", true);
    let builder = dir.join("builder-checkout");
    git(
        dir,
        &[
            "clone",
            "-q",
            origin.to_str().unwrap(),
            builder.to_str().unwrap(),
        ],
    );
    (origin, builder)
}

/// Every file under `dir`, relative, with its bytes.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().display().to_string();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn two_clones_in_differently_named_directories_as_different_users_give_identical_dist() {
    let _t: Tools = common::require!("go", "git");
    let root = tempfile::tempdir().unwrap();
    let origin = origin(root.path(), "example.test/hello/v2", false);
    let url = origin.display().to_string();
    let mut dists = Vec::new();
    for (i, clone) in ["first-clone", "elsewhere/second"].iter().enumerate() {
        let dir = root.path().join(clone);
        std::fs::create_dir_all(dir.parent().unwrap()).unwrap();
        git(root.path(), &["clone", "-q", &url, dir.to_str().unwrap()]);
        let mut cmd = wasipack();
        cmd.args(["build", dir.to_str().unwrap()])
            .env("SOURCE_DATE_EPOCH", EPOCH);
        if i == 1 {
            // Another user: another home, GOPATH, module cache and build cache (cold).
            let home = root.path().join("home2");
            cmd.env("HOME", &home)
                .env("GOPATH", home.join("go"))
                .env("GOMODCACHE", home.join("go/pkg/mod"))
                .env("GOCACHE", home.join("go-build"))
                .env("WASIPACK_CACHE", home.join("wasipack"));
        } else {
            cmd.env("WASIPACK_CACHE", root.path().join("cache1"));
        }
        let (code, out, err) = decode(cmd.output().unwrap());
        assert_eq!(code, 0, "{err}{out}");
        dists.push(files(&dir.join("dist")));
    }
    let names: Vec<&str> = dists[0].iter().map(|(n, _)| n.as_str()).collect();
    // Named after the import path's last element before the major version, as `go build` does.
    assert!(names.contains(&"hello.wasm"), "{names:?}");
    assert!(names.contains(&"report.json") && names.contains(&"oci/index.json"));
    assert_eq!(
        dists[0].iter().map(|(n, _)| n).collect::<Vec<_>>(),
        dists[1].iter().map(|(n, _)| n).collect::<Vec<_>>(),
        "the same files"
    );
    for ((name, a), (_, b)) in dists[0].iter().zip(&dists[1]) {
        assert!(a == b, "{name} differs between the two clones");
    }
}

const PASSWORD: &str = "rebuild-test";

/// wasipack in `dir`, with the key password and a cache of its own.
fn wp(dir: &Path, args: &[&str]) -> (i32, String, String) {
    decode(
        wasipack()
            .args(args)
            .current_dir(dir)
            .env("COSIGN_PASSWORD", PASSWORD)
            .env("SOURCE_DATE_EPOCH", EPOCH)
            .env("WASIPACK_CACHE", dir.join("cache"))
            .env("DOCKER_CONFIG", dir.join("docker"))
            .output()
            .unwrap(),
    )
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let (code, out, err) = wp(dir, args);
    assert_eq!(code, 0, "wasipack {args:?}: {err}{out}");
    out
}

fn keys(dir: &Path, prefix: &str) -> (String, String) {
    ok(dir, &["generate-key-pair", "--output-key-prefix", prefix]);
    (
        dir.join(format!("{prefix}.key")).display().to_string(),
        dir.join(format!("{prefix}.pub")).display().to_string(),
    )
}

/// cosign 3, offline: no transparency log, an empty trusted root.
fn cosign3(t: &Tools, dir: &Path, args: &[&str]) -> (i32, String, String) {
    let mut cmd = t.offline_cosign("cosign3", dir);
    cmd.args(args)
        .arg("--insecure-ignore-tlog=true")
        .arg(format!(
            "--trusted-root={}",
            repo()
                .join("testdata/cosign/trusted-root-empty.json")
                .display()
        ))
        .env("SIGSTORE_NO_CACHE", "1");
    decode(cmd.output().unwrap())
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// `rebuild LAYOUT --key PUB --sign KEY --json` of what does not reproduce: exit 1, no summary
/// attached; the report.
fn not_reproduced(
    dir: &Path,
    layout: &str,
    builder_pub: &str,
    rebuilder_key: &str,
) -> serde_json::Value {
    let (code, out, err) = wp(
        dir,
        &[
            "rebuild",
            layout,
            "--key",
            builder_pub,
            "--sign",
            rebuilder_key,
            "--json",
        ],
    );
    assert_eq!(code, 1, "{err}{out}");
    let report = json(&out);
    assert_eq!(report["reproduced"], false);
    assert!(report["summary"].as_array().unwrap().is_empty(), "{out}");
    report
}

#[test]
fn a_pushed_module_is_rebuilt_from_a_file_clone_and_its_summary_verifies_with_cosign_and_verify() {
    let t = common::require!("go", "git", "crane", "cosign3");
    let registry = t.crane_registry();
    let root = tempfile::tempdir().unwrap();
    let dir = root.path();
    let (origin, builder) = builder_checkout(dir);
    let (builder_key, builder_pub) = keys(dir, "builder");
    let (rebuilder_key, rebuilder_pub) = keys(dir, "rebuilder");
    ok(dir, &["build", builder.to_str().unwrap()]);
    let reference = format!("{}/rebuild/hello:1", registry.host());
    let dist = builder.join("dist");
    ok(
        dir,
        &[
            "push",
            dist.to_str().unwrap(),
            &reference,
            "--key",
            &builder_key,
        ],
    );

    let file_url = format!("file://{}", origin.display());
    let out = ok(
        dir,
        &[
            "rebuild",
            &reference,
            "--key",
            &builder_pub,
            "--source",
            &file_url,
            "--sign",
            &rebuilder_key,
            "--json",
        ],
    );
    let report = json(&out);
    assert_eq!(report["schema"], "wasipack.rebuild/v1");
    assert_eq!(report["reproduced"], true, "{out}");
    assert_eq!(report["commit"], git(&origin, &["rev-parse", "HEAD"]));
    assert!(report["outputs"].as_array().unwrap().len() >= 4, "{out}");
    assert!(!report["summary"].as_array().unwrap().is_empty(), "{out}");
    // --allow-toolchain-download runs Go with GOTOOLCHAIN=<the recorded release>: when that is
    // the local one, nothing is fetched (the module proxy turned off) and it reproduces.
    let (code, out, err) = decode(
        wasipack()
            .args([
                "rebuild",
                &reference,
                "--key",
                &builder_pub,
                "--source",
                &file_url,
            ])
            .arg("--allow-toolchain-download")
            .current_dir(dir)
            .env("SOURCE_DATE_EPOCH", EPOCH)
            .env("WASIPACK_CACHE", dir.join("cache"))
            .env("DOCKER_CONFIG", dir.join("docker"))
            .env("GOPROXY", "off")
            .env_remove("GOTOOLCHAIN")
            .output()
            .unwrap(),
    );
    assert_eq!(code, 0, "{err}{out}");
    assert!(out.contains(": reproduced from "), "{out}");

    // cosign judges the summary, signed by the rebuilder.
    let (code, out, err) = cosign3(
        &t,
        dir,
        &[
            "verify-attestation",
            "--type",
            "https://slsa.dev/verification_summary/v1",
            "--key",
            &rebuilder_pub,
            &reference,
        ],
    );
    assert_eq!(code, 0, "cosign3 verify-attestation: {err}{out}");
    // A consumer requires it, from a key other than the builder's.
    let require = |attestations: &str, rebuild_key: &str| {
        wp(
            dir,
            &[
                "verify",
                &reference,
                "--key",
                &builder_pub,
                "--require-attestation",
                attestations,
                "--rebuild-key",
                rebuild_key,
            ],
        )
    };
    let (code, out, err) = require("slsa,rebuild", &rebuilder_pub);
    assert_eq!(code, 0, "{err}{out}");
    assert!(out.contains("attestation rebuild"), "{out}");
    // The builder's own key does not count as someone else's rebuild.
    let (code, _, err) = require("rebuild", &builder_pub);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--rebuild-key is the builder's --key"),
        "{err}"
    );
    // Nor does a summary signed by another key than the one required.
    let (_, other_pub) = keys(dir, "other");
    let (code, out, _) = require("rebuild", &other_pub);
    assert_eq!(code, 1, "{out}");
}

#[test]
fn a_dirty_tree_is_not_reproduced_and_another_go_release_cannot_judge() {
    let _t = common::require!("go", "git");
    let root = tempfile::tempdir().unwrap();
    let dir = root.path();
    let (origin, builder) = builder_checkout(dir);
    let (builder_key, builder_pub) = keys(dir, "builder");
    let (rebuilder_key, rebuilder_pub) = keys(dir, "rebuilder");
    // A change not committed: the provenance says dirty and names no commit as the source.
    let main = builder.join("main.go");
    let text = std::fs::read_to_string(&main).unwrap();
    std::fs::write(
        &main,
        text.replacen("fmt.Print", "fmt.Print(\"dirty \");fmt.Print", 1),
    )
    .unwrap();
    ok(
        dir,
        &["build", builder.to_str().unwrap(), "--sign", &builder_key],
    );
    let layout = format!("oci-layout:{}:hello", builder.join("dist/oci").display());
    let report = not_reproduced(dir, &layout, &builder_pub, &rebuilder_key);
    assert_eq!(report["dirty"], true);
    let difference = report["difference"].as_str().unwrap();
    assert!(
        difference.starts_with("hello.wasm: ") && difference.contains("section"),
        "{difference}"
    );
    // No summary was attached: a consumer who requires one is refused.
    let (code, out, _) = wp(
        dir,
        &[
            "verify",
            &layout,
            "--key",
            &builder_pub,
            "--require-attestation",
            "rebuild",
            "--rebuild-key",
            &rebuilder_pub,
        ],
    );
    assert_eq!(code, 1, "{out}");

    // A provenance (signed with a test key) that records another Go release: exit 2 naming it.
    let (forger_key, forger_pub) = keys(dir, "forger");
    let predicate = serde_json::json!({
        "buildDefinition": {
            "externalParameters": {
                "source": origin.display().to_string(),
                "revision": git(&origin, &["rev-parse", "HEAD"]),
                "path": ".",
                "package": ".",
                "configuration": {"name": "hello", "package": ".", "tag": "hello"},
            },
            "internalParameters": {"toolchain": {"name": "go", "version": "go1.21.13"}},
        },
    });
    let file = dir.join("forged.json");
    std::fs::write(&file, predicate.to_string()).unwrap();
    ok(
        dir,
        &[
            "attest",
            &layout,
            "--key",
            &forger_key,
            "--type",
            "slsaprovenance1",
            "--predicate",
            file.to_str().unwrap(),
        ],
    );
    let (code, out, err) = wp(dir, &["rebuild", &layout, "--key", &forger_pub]);
    common::assert_clean_error(code, &out, &err, "another Go release");
    assert!(err.contains("built with go1.21.13"), "{err}");
    // No provenance that the key verifies: exit 2 too.
    let (code, out, err) = wp(dir, &["rebuild", &layout, "--key", &rebuilder_pub]);
    common::assert_clean_error(code, &out, &err, "no provenance");
    assert!(err.contains("no SLSA provenance"), "{err}");
}

/// wasipack in `dir` as a user of Go of its own: its own home, GOPATH, module cache, build
/// cache and wasipack cache under `dir/user`, empty at first, nothing of the caller's Go
/// settings, `GOPROXY` as given, and every proxy variable pointed at a closed port, so that
/// nothing is fetched from the network.
fn as_go_user(dir: &Path, user: &str, goproxy: &str, env: &[(&str, &str)]) -> Command {
    let home = dir.join(user);
    let mut cmd = wasipack();
    cmd.current_dir(dir)
        .env("COSIGN_PASSWORD", PASSWORD)
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .env("HOME", &home)
        .env("GOPATH", home.join("go"))
        .env("GOMODCACHE", home.join("go/pkg/mod"))
        .env("GOCACHE", home.join("go-build"))
        .env("WASIPACK_CACHE", home.join("wasipack"))
        .env("DOCKER_CONFIG", home.join("docker"))
        .env("GOPROXY", goproxy)
        .env("GOENV", "off");
    for var in [
        "GOTOOLCHAIN",
        "GOFLAGS",
        "GONOSUMDB",
        "GONOPROXY",
        "GOPRIVATE",
        "GOSUMDB",
    ] {
        cmd.env_remove(var);
    }
    for var in [
        "HTTPS_PROXY",
        "HTTP_PROXY",
        "ALL_PROXY",
        "https_proxy",
        "http_proxy",
    ] {
        cmd.env(var, "http://127.0.0.1:9");
    }
    cmd.envs(env.iter().copied());
    cmd
}

/// Whether Go's module cache of `user` (of [`as_go_user`]) holds the toolchain module of
/// `release`: what Go fetched for that user.
fn fetched_release(dir: &Path, user: &str, release: &str) -> bool {
    dir.join(user)
        .join("go/pkg/mod/golang.org")
        .join(format!("toolchain@v0.0.1-{release}.linux-amd64"))
        .is_dir()
}

#[test]
fn another_go_release_is_fetched_from_a_module_proxy_only_with_allow_toolchain_download() {
    let t = common::require!("go", "git", "goproxy");
    let proxy = t.path("goproxy");
    let release = std::fs::read_to_string(proxy.join("release"))
        .unwrap()
        .trim()
        .to_string();
    let goproxy = format!("file://{}", proxy.display());
    let local = Command::new(t.path("go"))
        .args(["env", "GOVERSION"])
        .env("GOTOOLCHAIN", "local")
        .output()
        .unwrap();
    let local = String::from_utf8(local.stdout).unwrap().trim().to_string();
    assert_ne!(
        local, release,
        "the proxy's release must not be the local Go's"
    );
    let root = tempfile::tempdir().unwrap();
    let dir = root.path();
    let (origin, builder) = builder_checkout(dir);
    let (builder_key, builder_pub) = keys(dir, "builder");
    // The builder compiles with the other release (Go fetches it into the builder's cache).
    let gotoolchain = [("GOTOOLCHAIN", release.as_str())];
    let (code, out, err) = decode(
        as_go_user(dir, "builder-user", &goproxy, &gotoolchain)
            .args(["build", builder.to_str().unwrap(), "--sign", &builder_key])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 0, "{err}{out}");
    assert!(fetched_release(dir, "builder-user", &release));
    // The build records the release that compiled, not the local `go`'s.
    let built = json(&std::fs::read_to_string(builder.join("dist/report.json")).unwrap());
    assert_eq!(
        built["modules"][0]["toolchain_version"],
        release.as_str(),
        "{built}"
    );
    let layout = format!("oci-layout:{}:hello", builder.join("dist/oci").display());
    let file_url = format!("file://{}", origin.display());
    let rebuild = |user: &str, goproxy: &str, allow: bool| {
        let mut cmd = as_go_user(dir, user, goproxy, &[]);
        cmd.args([
            "rebuild",
            &layout,
            "--key",
            &builder_pub,
            "--source",
            &file_url,
        ]);
        if allow {
            cmd.args(["--allow-toolchain-download", "--json"]);
        }
        decode(cmd.output().unwrap())
    };

    // Exit 2 with one line that says `says`, and nothing fetched into the user's cache.
    let cannot_judge = |user: &str, goproxy: &str, allow: bool, says: String| {
        let (code, out, err) = rebuild(user, goproxy, allow);
        common::assert_clean_error(code, &out, &err, user);
        assert!(err.contains(&says), "{err}");
        assert!(!fetched_release(dir, user, &release));
    };
    // Without the flag: the release named.
    cannot_judge(
        "without-flag",
        &goproxy,
        false,
        format!("built with {release}; this machine's `go` is {local}"),
    );
    // With the flag and nothing to download from: the release named, and Go's reason.
    cannot_judge(
        "nothing-to-fetch",
        "off",
        true,
        format!("built with {release}, which Go could not fetch (GOTOOLCHAIN={release}): go: "),
    );
    // With the flag and the module proxy: Go fetches the release, verified against the
    // checksum database's proof the proxy holds, and the rebuild reproduces with it.
    let (code, out, err) = rebuild("with-flag", &goproxy, true);
    assert_eq!(code, 0, "{err}{out}");
    let report = json(&out);
    assert_eq!(report["reproduced"], true, "{out}");
    assert_eq!(report["toolchain"], release.as_str(), "{out}");
    assert_eq!(report["local_toolchain"], local.as_str(), "{out}");
    assert_eq!(report["toolchain_fetched"], true, "{out}");
    assert!(fetched_release(dir, "with-flag", &release));
}

#[test]
fn a_module_altered_after_its_build_is_not_reproduced_and_gets_no_summary() {
    use base64::Engine;
    let _t = common::require!("go", "git");
    let root = tempfile::tempdir().unwrap();
    let dir = root.path();
    let (_, builder) = builder_checkout(dir);
    let (builder_key, builder_pub) = keys(dir, "builder");
    let (rebuilder_key, _) = keys(dir, "rebuilder");
    ok(
        dir,
        &["build", builder.to_str().unwrap(), "--sign", &builder_key],
    );
    // The genuine provenance, as the build signed it.
    let oci = builder.join("dist/oci");
    let index = json(&std::fs::read_to_string(oci.join("index.json")).unwrap());
    let blob = |digest: &str| {
        std::fs::read(
            oci.join("blobs/sha256")
                .join(digest.trim_start_matches("sha256:")),
        )
        .unwrap()
    };
    let att = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| {
            m["annotations"]["org.opencontainers.image.ref.name"]
                .as_str()
                .is_some_and(|t| t.ends_with(".att"))
        })
        .unwrap();
    let att: serde_json::Value =
        serde_json::from_slice(&blob(att["digest"].as_str().unwrap())).unwrap();
    let layer = att["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["annotations"]["predicateType"] == "https://slsa.dev/provenance/v1")
        .unwrap();
    let envelope: serde_json::Value =
        serde_json::from_slice(&blob(layer["digest"].as_str().unwrap())).unwrap();
    let statement: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::STANDARD
            .decode(envelope["payload"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    let predicate = dir.join("provenance.json");
    std::fs::write(&predicate, statement["predicate"].to_string()).unwrap();
    // The module altered after the build (a custom section appended), then shipped and attested
    // with that same provenance.
    let mut module = std::fs::read(builder.join("dist/hello.wasm")).unwrap();
    module.extend_from_slice(&[0, 6, 5, b'e', b'x', b't', b'r', b'a']);
    let altered = dir.join("hello.wasm");
    std::fs::write(&altered, &module).unwrap();
    let layout = format!("oci-layout:{}:hello", dir.join("shipped").display());
    ok(dir, &["push", altered.to_str().unwrap(), &layout]);
    ok(
        dir,
        &[
            "attest",
            &layout,
            "--key",
            &builder_key,
            "--type",
            "slsaprovenance1",
            "--predicate",
            predicate.to_str().unwrap(),
        ],
    );
    let report = not_reproduced(dir, &layout, &builder_pub, &rebuilder_key);
    assert_eq!(
        report["difference"], "hello.wasm: custom section `extra` (in one only)",
        "{report}"
    );
}

#[test]
fn a_keyless_pushed_module_is_rebuilt_by_identity_and_its_keyless_summary_names_the_rebuilder() {
    let t = common::require!("go", "git", "sigstore", "cosign3");
    let stack = t.sigstore_stack();
    let registry = t.referrers_registry();
    let root = tempfile::tempdir().unwrap();
    let dir = root.path();
    let (origin, builder) = builder_checkout(dir);
    ok(dir, &["build", builder.to_str().unwrap()]);
    let config = stack.signing_config().display().to_string();
    let trusted_root = stack.trusted_root().display().to_string();
    // The builder signs as a GitHub workflow, the rebuilder as an email identity. The builder
    // pushes to a repository of the registry; the reference by digest.
    let push = |repository: &str| {
        let pushed = json(&ok(
            dir,
            &[
                "push",
                builder.join("dist").to_str().unwrap(),
                &format!("{}/{repository}", registry.host()),
                "--keyless",
                "--identity-token",
                &stack.token(),
                "--signing-config",
                &config,
                "--json",
            ],
        ));
        pushed["pushed"][0]["reference"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let reference = push("rebuild/keyless:1");
    let (builder_identity, builder_issuer) = (stack.identity(), stack.issuer());
    let (rebuilder_identity, rebuilder_issuer) = (stack.email_identity(), stack.email_issuer());
    let trusting = |identity: &str, issuer: &str, rest: &[&str]| -> Vec<String> {
        let mut args: Vec<String> = rest.iter().map(|a| a.to_string()).collect();
        args.extend([
            "--certificate-identity".into(),
            identity.into(),
            "--certificate-oidc-issuer".into(),
            issuer.into(),
            "--trusted-root".into(),
            trusted_root.clone(),
            "--insecure-ignore-sct".into(),
        ]);
        args
    };
    let run = |args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        wp(dir, &args)
    };

    // Rebuilt from the provenance the builder's identity signed; the summary signed keyless
    // as the identity of `token`.
    let file_url = format!("file://{}", origin.display());
    let rebuild_keyless = |reference: &str, token: &str| {
        run(trusting(
            &builder_identity,
            &builder_issuer,
            &[
                "rebuild",
                reference,
                "--source",
                &file_url,
                "--keyless",
                "--identity-token",
                token,
                "--signing-config",
                &config,
                "--json",
            ],
        ))
    };
    let (code, out, err) = rebuild_keyless(&reference, &stack.token_of("email"));
    assert_eq!(code, 0, "{err}{out}");
    let report = json(&out);
    assert_eq!(report["reproduced"], true, "{out}");
    assert_eq!(report["summary"].as_array().unwrap().len(), 1, "{out}");
    // A provenance the named identity did not sign: nothing to rebuild from, exit 2.
    let (code, out, err) = run(trusting(
        &rebuilder_identity,
        &rebuilder_issuer,
        &["rebuild", &reference, "--source", &file_url],
    ));
    common::assert_clean_error(code, &out, &err, "another builder identity");
    assert!(err.contains("no SLSA provenance"), "{err}");

    // cosign finds the summary signed by the rebuilder's identity.
    let mut cosign = t.offline_cosign("cosign3", dir);
    cosign.args([
        "verify-attestation",
        "--type",
        "https://slsa.dev/verification_summary/v1",
        "--certificate-identity",
        &rebuilder_identity,
        "--certificate-oidc-issuer",
        &rebuilder_issuer,
        "--trusted-root",
        &trusted_root,
        "--insecure-ignore-sct",
        &reference,
    ]);
    let (code, out, err) = decode(cosign.output().unwrap());
    assert_eq!(code, 0, "cosign3 verify-attestation: {err}{out}");

    // A consumer requires it from the rebuilder's identity.
    let require = |identity: &str, issuer: &str| {
        run(trusting(
            &builder_identity,
            &builder_issuer,
            &[
                "verify",
                &reference,
                "--require-attestation",
                "slsa,rebuild",
                "--rebuild-certificate-identity",
                identity,
                "--rebuild-certificate-oidc-issuer",
                issuer,
            ],
        ))
    };
    let (code, out, err) = require(&rebuilder_identity, &rebuilder_issuer);
    assert_eq!(code, 0, "{err}{out}");
    assert!(out.contains("ok   attestation rebuild"), "{out}");
    // The builder's own identity does not count as someone else's rebuild.
    let (code, out, err) = require(&builder_identity, &builder_issuer);
    common::assert_clean_error(code, &out, &err, "the builder as rebuilder");
    assert!(err.contains("are the builder's"), "{err}");
    // Nor does a summary from another identity than the one required: one failed step.
    let (code, out, _) = require("someone-else@example.test", &rebuilder_issuer);
    assert_eq!(code, 1, "{out}");
    let failed: Vec<&str> = out.lines().filter(|l| l.starts_with("FAIL")).collect();
    assert_eq!(failed.len(), 1, "{out}");
    assert!(
        failed[0].contains("attestation rebuild") && failed[0].contains("identity"),
        "{out}"
    );

    // Rebuilder options broad enough to admit anyone (regexps that the builder's identity
    // matches too): a summary by another identity than the builder's counts...
    let require_anyone = |reference: &str| {
        run(trusting(
            &builder_identity,
            &builder_issuer,
            &[
                "verify",
                reference,
                "--require-attestation",
                "rebuild",
                "--rebuild-certificate-identity-regexp",
                ".*",
                "--rebuild-certificate-oidc-issuer-regexp",
                ".*",
            ],
        ))
    };
    let (code, out, err) = require_anyone(&reference);
    assert_eq!(code, 0, "{err}{out}");
    assert!(out.contains("ok   attestation rebuild"), "{out}");
    // ...but one the builder signed itself, after rebuilding its own artifact, does not.
    let own = push("rebuild/self-attested:1");
    let (code, out, err) = rebuild_keyless(&own, &stack.token());
    assert_eq!(code, 0, "the builder's own rebuild: {err}{out}");
    assert_eq!(json(&out)["summary"].as_array().unwrap().len(), 1, "{out}");
    let (code, out, err) = require_anyone(&own);
    common::assert_clean_error(code, &out, &err, "a rebuild attested by its builder");
    assert!(
        err.contains(&format!(
            "is signed by the builder's own identity {builder_identity} (issuer {builder_issuer}); require a rebuilder other than the builder"
        )),
        "{err}"
    );
}

//! Keys, signatures, attestations and verify, judged by the real cosign (v2 and v3, pinned in
//! scripts/install-tools.sh) against real registries on 127.0.0.1, and a tamper suite.

mod common;

use common::proxy::{Action, Fault, Proxy};
use common::{assert_clean_error, decode, repo, wasipack, Tools};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const PASSWORD: &str = "key-password";

struct Env {
    dir: tempfile::TempDir,
    /// The docker config directory (credentials), which envs may share.
    docker: PathBuf,
    /// What the test required.
    t: Tools,
}

impl Env {
    fn new(t: &Tools) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let docker = dir.path().join("docker");
        std::fs::create_dir_all(&docker).unwrap();
        Env {
            dir,
            docker,
            t: t.clone(),
        }
    }

    /// A fresh working directory that shares this env's credentials.
    fn sibling(&self) -> Env {
        Env {
            dir: tempfile::tempdir().unwrap(),
            docker: self.docker.clone(),
            t: self.t.clone(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn docker(&self) -> PathBuf {
        self.docker.clone()
    }

    fn wp(&self, args: &[&str]) -> (i32, String, String) {
        self.wp_with(args, &[])
    }

    fn wp_with(&self, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
        let mut cmd = wasipack();
        cmd.args(args)
            .current_dir(self.dir.path())
            .env("DOCKER_CONFIG", self.docker())
            .env("COSIGN_PASSWORD", PASSWORD)
            .stdin(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        decode(cmd.output().unwrap())
    }

    fn ok(&self, args: &[&str]) -> String {
        let (code, out, err) = self.wp(args);
        assert_eq!(code, 0, "wasipack {args:?}: {err}{out}");
        out
    }

    /// Runs cosign 2 or 3 offline: no transparency log, an empty trusted root for v3.
    fn cosign(&self, version: u8, args: &[&str]) -> (i32, String, String) {
        let mut cmd = self.t.command(&format!("cosign{version}"));
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let verb = args[0];
        if verb.starts_with("verify") {
            all.push("--insecure-ignore-tlog=true".into());
            if version == 3 && verb != "verify-blob" {
                all.push(format!(
                    "--trusted-root={}",
                    repo()
                        .join("testdata/cosign/trusted-root-empty.json")
                        .display()
                ));
            }
        }
        if verb == "sign" || verb == "attest" {
            all.push("-y".into());
            if version == 2 {
                all.push("--tlog-upload=false".into());
            } else {
                all.extend(
                    [
                        "--use-signing-config=false",
                        "--new-bundle-format=false",
                        "--tlog-upload=false",
                    ]
                    .map(String::from),
                );
            }
        }
        cmd.args(&all)
            .current_dir(self.dir.path())
            .env("DOCKER_CONFIG", self.docker())
            .env("COSIGN_PASSWORD", PASSWORD)
            .env("COSIGN_YES", "true")
            .env("SIGSTORE_NO_CACHE", "1")
            .env("TUF_ROOT", self.path("tuf"))
            .stdin(Stdio::null());
        decode(cmd.output().unwrap())
    }

    fn keys(&self, prefix: &str) -> (String, String) {
        self.ok(&["generate-key-pair", "--output-key-prefix", prefix]);
        (format!("{prefix}.key"), format!("{prefix}.pub"))
    }

    /// Pushes a fixture module; returns its `REF@digest`.
    fn push(&self, module: &str, reference: &str) -> String {
        let path = self.t.go_fixture(module);
        self.ok(&["push", path.to_str().unwrap(), reference])
            .trim()
            .to_string()
    }
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// Logs in with `wasipack login`, whose docker config cosign reads too.
fn login(env: &Env, host: &str, user: &str, password: &str) {
    let mut login = wasipack();
    login
        .args(["login", host, "-u", user, "--password-stdin"])
        .env("DOCKER_CONFIG", env.docker())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = login.spawn().unwrap();
    std::io::Write::write_all(
        &mut child.stdin.take().unwrap(),
        format!("{password}\n").as_bytes(),
    )
    .unwrap();
    let (code, _, err) = decode(child.wait_with_output().unwrap());
    assert_eq!(code, 0, "{err}");
}

/// Both test registries: crane's (anonymous) and docker-registry with basic auth (logged in).
fn registries(env: &Env) -> Vec<common::servers::Server> {
    let crane = env.t.crane_registry();
    let docker = env.t.docker_registry("tester", "pw");
    login(env, &docker.host(), "tester", "pw");
    vec![crane, docker]
}

fn sbom(env: &Env) -> String {
    let path = env.path("sbom.spdx.json");
    env.ok(&[
        "sbom",
        env.t.go_fixture("hello").to_str().unwrap(),
        "-o",
        path.to_str().unwrap(),
    ]);
    path.display().to_string()
}

#[test]
fn cosign_2_and_3_verify_what_wasipack_signs_and_attests() {
    let t = common::require!(
        "go",
        "crane",
        "docker-registry",
        "htpasswd",
        "cosign2",
        "cosign3",
    );
    let env = Env::new(&t);
    for registry in registries(&env) {
        cosign_verifies_wasipack_on(&env.sibling(), &registry.host());
    }
}

fn cosign_verifies_wasipack_on(env: &Env, host: &str) {
    let (key, public) = env.keys("wp");
    let reference = env.push("hello", &format!("{}/trust/hello:1", host));
    let predicate = sbom(env);
    let out = env.ok(&[
        "sign",
        &reference,
        "--key",
        &key,
        "-a",
        "team=edge",
        "--json",
    ]);
    assert_eq!(json(&out)["layers"], 1);
    env.ok(&[
        "attest",
        &reference,
        "--key",
        &key,
        "--predicate",
        &predicate,
        "--type",
        "spdxjson",
    ]);
    for version in [2, 3] {
        let (code, out, err) = env.cosign(version, &["verify", "--key", &public, &reference]);
        assert_eq!(code, 0, "cosign{version} verify: {err}");
        let payloads = json(&out);
        assert_eq!(payloads[0]["optional"]["team"], "edge", "{out}");
        let (code, _, err) = env.cosign(
            version,
            &[
                "verify-attestation",
                "--key",
                &public,
                "--type",
                "spdxjson",
                &reference,
            ],
        );
        assert_eq!(code, 0, "cosign{version} verify-attestation: {err}");
    }
    // And wasipack's own verify passes every step.
    let (code, out, err) = env.wp(&[
        "verify",
        &reference,
        "--key",
        &public,
        "--require-attestation",
        "spdx",
        "--policy",
        "wasip1-default",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}{out}");
    let report = json(&out);
    assert_eq!(report["verified"], true);
    let steps: Vec<&str> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "resolve",
            "signature",
            "attestation spdx",
            "config",
            "module",
            "policy"
        ]
    );
}

#[test]
fn wasipack_verifies_what_cosign_signs_and_signs_with_cosigns_keys() {
    let t = common::require!(
        "go",
        "crane",
        "docker-registry",
        "htpasswd",
        "cosign2",
        "cosign3",
    );
    let env = Env::new(&t);
    for registry in registries(&env) {
        wasipack_verifies_cosign_on(&env.sibling(), &registry.host());
    }
}

fn wasipack_verifies_cosign_on(env: &Env, host: &str) {
    let predicate = sbom(env);
    for version in [2u8, 3] {
        let prefix = format!("c{version}");
        let (code, _, err) = env.cosign(
            version,
            &["generate-key-pair", "--output-key-prefix", &prefix],
        );
        assert_eq!(code, 0, "cosign{version} generate-key-pair: {err}");
        let (key, public) = (format!("{prefix}.key"), format!("{prefix}.pub"));
        let reference = env.push("hello", &format!("{}/bycosign/v{version}:1", host));
        let (code, _, err) = env.cosign(version, &["sign", "--key", &key, &reference]);
        assert_eq!(code, 0, "cosign{version} sign: {err}");
        let (code, _, err) = env.cosign(
            version,
            &[
                "attest",
                "--key",
                &key,
                "--type",
                "spdxjson",
                "--predicate",
                &predicate,
                &reference,
            ],
        );
        assert_eq!(code, 0, "cosign{version} attest: {err}");
        let (code, out, err) = env.wp(&[
            "verify",
            &reference,
            "--key",
            &public,
            "--require-attestation",
            "spdx",
        ]);
        assert_eq!(
            code, 0,
            "wasipack verify of cosign{version}'s signature: {err}{out}"
        );

        // cosign's encrypted key signs with wasipack; cosign verifies both signatures.
        let out = env.ok(&["sign", &reference, "--key", &key, "--json"]);
        assert_eq!(
            json(&out)["layers"],
            2,
            "appended to cosign's signature: {out}"
        );
        let (code, out, err) = env.cosign(version, &["verify", "--key", &public, &reference]);
        assert_eq!(code, 0, "cosign{version} verify: {err}");
        assert_eq!(json(&out).as_array().unwrap().len(), 2, "{out}");
    }
}

#[test]
fn sign_blob_works_both_ways_offline() {
    let t = common::require!("go", "cosign2", "cosign3");
    let env = Env::new(&t);
    let (key, public) = env.keys("wp");
    let (code, _, err) = env.cosign(2, &["generate-key-pair", "--output-key-prefix", "c2"]);
    assert_eq!(code, 0, "{err}");
    let module = env.path("hello.wasm");
    std::fs::copy(t.go_fixture("hello"), &module).unwrap();
    let module = module.to_str().unwrap();

    env.ok(&[
        "sign-blob",
        module,
        "--key",
        &key,
        "--output-signature",
        "wp.sig",
    ]);
    for version in [2, 3] {
        let (code, _, err) = env.cosign(
            version,
            &[
                "verify-blob",
                "--key",
                &public,
                "--signature",
                "wp.sig",
                module,
            ],
        );
        assert_eq!(code, 0, "cosign{version} verify-blob: {err}");
    }
    let (code, _, err) = env.cosign(
        2,
        &[
            "sign-blob",
            "--key",
            "c2.key",
            "--tlog-upload=false",
            "-y",
            "--output-signature",
            "c2.sig",
            module,
        ],
    );
    assert_eq!(code, 0, "cosign sign-blob: {err}");
    let (code, out, err) = env.wp(&[
        "verify",
        module,
        "--key",
        "c2.pub",
        "--signature",
        "c2.sig",
        "--policy",
        "wasip1-default",
    ]);
    assert_eq!(code, 0, "{err}{out}");
    // The wrong key: a failed step, exit 1, and cosign agrees.
    let (code, out, _) = env.wp(&["verify", module, "--key", &public, "--signature", "c2.sig"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("does not verify with this key"), "{out}");
    let (code, _, _) = env.cosign(
        2,
        &[
            "verify-blob",
            "--key",
            &public,
            "--signature",
            "c2.sig",
            module,
        ],
    );
    assert_ne!(code, 0);
}

#[test]
fn wrong_passwords_and_bad_keys_are_one_line_errors() {
    let t = common::require!("go");
    let env = Env::new(&t);
    let (key, _) = env.keys("wp");
    let module = t.go_fixture("hello");
    let (code, out, err) = env.wp_with(
        &["sign-blob", module.to_str().unwrap(), "--key", &key],
        &[("COSIGN_PASSWORD", "nope")],
    );
    assert_clean_error(code, &out, &err, "wrong password");
    assert!(err.contains("wp.key: wrong password"), "{err}");
    std::fs::write(env.path("junk.key"), "not a key").unwrap();
    let (code, out, err) = env.wp(&["sign-blob", module.to_str().unwrap(), "--key", "junk.key"]);
    assert_clean_error(code, &out, &err, "junk key");
    assert!(err.contains("junk.key: not a PEM key file"), "{err}");
    let (code, out, err) = env.wp(&["generate-key-pair", "--output-key-prefix", "wp"]);
    assert_clean_error(code, &out, &err, "existing key");
    assert!(err.contains("already exists"), "{err}");
    let (code, out, err) = env.wp_with(&["generate-key-pair", "--output-key-prefix", "x"], &[]);
    assert_eq!(code, 0, "{err}{out}");
    let mut cmd = wasipack();
    cmd.args(["sign-blob", module.to_str().unwrap(), "--key", "wp.key"])
        .current_dir(env.dir.path())
        .env_remove("COSIGN_PASSWORD")
        .stdin(Stdio::null());
    let (code, out, err) = decode(cmd.output().unwrap());
    assert_clean_error(code, &out, &err, "no password source");
    assert!(err.contains("COSIGN_PASSWORD"), "{err}");
}

/// Starts `wasipack sign REF --key KEY --json` without waiting for it.
fn start_sign(env: &Env, reference: &str, key: &str) -> std::process::Child {
    start_sign_with(env, reference, key, &[])
}

fn start_sign_with(env: &Env, reference: &str, key: &str, more: &[&str]) -> std::process::Child {
    wasipack()
        .args(["sign", reference, "--key", key, "--json"])
        .args(more)
        .current_dir(env.dir.path())
        .env("DOCKER_CONFIG", env.docker())
        .env("COSIGN_PASSWORD", PASSWORD)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Ten signers with ten keys sign one artifact at once, three times over, on crane's
/// registry and on distribution 2.8 (tag-only: cosign's `.sig` tag, appended and confirmed)
/// and on a registry with the referrers API (one Sigstore bundle referrer each). Every
/// process exits 0 and every key's signature is there afterwards: wasipack verifies each,
/// and cosign judges one run per registry. About 25 s, most of it the tag-only registries'
/// confirmation window (0.65 s after the last write of each run).
#[test]
fn ten_concurrent_signers_keep_every_signature_on_tag_only_and_referrers_registries() {
    let t = common::require!(
        "go",
        "crane",
        "docker-registry",
        "htpasswd",
        "cosign2",
        "cosign3"
    );
    let env = Env::new(&t);
    let mut servers = registries(&env);
    servers.push(t.referrers_registry());
    let keys: Vec<(String, String)> = (0..10).map(|i| env.keys(&format!("k{i}"))).collect();
    for (r, server) in servers.iter().enumerate() {
        let host = server.host();
        let with_api = r == 2;
        for run in 0..3 {
            let reference = env.push("hello", &format!("{host}/race/r{run}:1"));
            let children: Vec<_> = keys
                .iter()
                .map(|(key, _)| start_sign(&env, &reference, key))
                .collect();
            for c in children {
                let (code, out, err) = decode(c.wait_with_output().unwrap());
                assert_eq!(code, 0, "{host} run {run}: {err}");
                let signed = json(&out);
                if with_api {
                    assert_eq!(signed["tag"], Value::Null, "{out}");
                    assert_eq!(signed["indexed"], "referrers-api", "{out}");
                } else {
                    assert!(signed["tag"].as_str().unwrap().ends_with(".sig"), "{out}");
                }
            }
            for (_, public) in &keys {
                let (code, out, err) = env.wp(&["verify", &reference, "--key", public]);
                assert_eq!(code, 0, "{host} run {run}, {public}: {err}{out}");
            }
            if run == 0 {
                let (_, public) = &keys[run];
                let (code, _, err) = if with_api {
                    env.cosign3_bundles(&["verify", "--key", public, &reference])
                } else {
                    env.cosign(2, &["verify", "--key", public, &reference])
                };
                assert_eq!(code, 0, "cosign on {host}, {public}: {err}");
            }
        }
        if !with_api {
            // Ten layers, one per key, under the one tag.
            let reference = format!("{host}/race/r2:1");
            let report = env.wp(&["verify", &reference, "--key", &keys[0].1]).1;
            assert!(report.contains(" of 10 under "), "{report}");
        }
    }
}

/// Bundle referrers on a registry without the referrers API are listed in the `sha256-HEX`
/// fallback index, a tag with the same race as `.sig`: ten signers with `--attach bundles` at
/// once on crane's registry all stay listed, and each verifies. About 5 s.
#[test]
fn ten_concurrent_bundle_signers_all_stay_listed_in_the_fallback_index() {
    let t = common::require!("go", "crane");
    let registry = t.crane_registry();
    let env = Env::new(&t);
    let keys: Vec<(String, String)> = (0..10).map(|i| env.keys(&format!("b{i}"))).collect();
    let reference = env.push("hello", &format!("{}/race/bundles:1", registry.host()));
    let children: Vec<_> = keys
        .iter()
        .map(|(key, _)| start_sign_with(&env, &reference, key, &["--attach", "bundles"]))
        .collect();
    let mut referrers = Vec::new();
    for c in children {
        let (code, out, err) = decode(c.wait_with_output().unwrap());
        assert_eq!(code, 0, "{err}");
        let signed = json(&out);
        assert_eq!(signed["tag"], Value::Null, "{out}");
        assert_eq!(signed["indexed"], "fallback-tag", "{out}");
        referrers.push(signed["referrer"].as_str().unwrap().to_string());
    }
    let digest = reference.split_once('@').unwrap().1;
    let index = format!(
        "{}/race/bundles:{}",
        registry.host(),
        digest.replace(':', "-")
    );
    let (code, out, err) = t.run("crane", &["manifest", &index], env.dir.path());
    assert_eq!(code, 0, "{err}");
    let listed: Vec<String> = json(&out)["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["digest"].as_str().unwrap().to_string())
        .collect();
    for r in &referrers {
        assert!(
            listed.contains(r),
            "{r} is not in the fallback index: {out}"
        );
    }
    for (_, public) in &keys {
        let (code, out, err) = env.wp(&["verify", &reference, "--key", public]);
        assert_eq!(code, 0, "{public}: {err}{out}");
        assert!(out.contains("Sigstore bundle"), "{out}");
    }
}

/// On a registry with the referrers API, `push --key` and `sign` store Sigstore bundle
/// referrers by default and no `.sig`/`.att` tag (the repository did not exist before the
/// push, so the push asks again once the artifact is stored); cosign 3 verifies them, and
/// `--attach tags` still gives cosign 2 its `.sig` tag.
#[test]
fn signatures_are_bundle_referrers_by_default_where_the_registry_has_the_api() {
    let t = common::require!("go", "crane", "cosign2", "cosign3");
    let registry = t.referrers_registry();
    let env = Env::new(&t);
    let (key, public) = env.keys("wp");
    let (tags_key, tags_public) = env.keys("tags");
    let fixture = t.go_fixture("hello");
    let reference = format!("{}/auto/hello:1", registry.host());
    let out = env.ok(&[
        "push",
        fixture.to_str().unwrap(),
        &reference,
        "--key",
        &key,
        "--json",
    ]);
    let signed = json(&out)["pushed"][0]["signed"].clone();
    let signed = signed.as_array().unwrap();
    assert_eq!(
        signed.len(),
        3,
        "the signature, the SBOM, the provenance: {out}"
    );
    for s in signed {
        assert_eq!(s["tag"], Value::Null, "{out}");
        assert_eq!(s["indexed"], "referrers-api", "{out}");
        assert!(
            s["referrer"].as_str().unwrap().starts_with("sha256:"),
            "{out}"
        );
    }
    let (code, tags, err) = t.run(
        "crane",
        &["ls", &format!("{}/auto/hello", registry.host())],
        env.dir.path(),
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(tags.trim(), "1", "no .sig or .att tag: {tags}");
    let (code, out, err) = env.wp(&[
        "verify",
        &reference,
        "--key",
        &public,
        "--require-attestation",
        "spdx,slsa",
    ]);
    assert_eq!(code, 0, "{err}{out}");
    let (code, _, err) = env.cosign3_bundles(&["verify", "--key", &public, &reference]);
    assert_eq!(code, 0, "cosign3 verify: {err}");

    // The tag form on request (on an artifact without bundles, which cosign would read
    // first): cosign 2 reads it.
    let unsigned = env.push("hello", &format!("{}/auto/tags:1", registry.host()));
    let out = env.ok(&["sign", &unsigned, "--key", &tags_key, "--attach", "tags"]);
    assert!(out.contains(".sig now holds 1 layer(s)"), "{out}");
    let (code, _, err) = env.cosign(2, &["verify", "--key", &tags_public, &unsigned]);
    assert_eq!(code, 0, "cosign2 verify of --attach tags: {err}");
}

/// One signer's `.sig` manifest PUT is held by a proxy while a second signer writes: the
/// first one read the tag before the second wrote, so its write drops the second one's
/// layer. Released as soon as the second signer's write is done (inside the window it watches
/// the tag for), the second signer sees its layer go and writes it again: both layers stay.
/// Released only once the second signer has exited 0, the late write drops its layer (what a
/// tag without compare-and-swap allows), and the late signer, whose write took longer than
/// the guard, exits 2 with one line saying a layer may have been replaced. Never do both exit
/// 0 with a signature missing. About 5 s.
#[test]
fn a_stalled_signature_write_is_restored_or_reported_never_silently_lost() {
    let t = common::require!("go", "crane");
    let registry = t.crane_registry();
    let proxy = Proxy::start(registry.addr);
    let env = Env::new(&t);
    let (slow_key, slow_public) = env.keys("slow");
    let (fast_key, fast_public) = env.keys("fast");
    for (run, until_fast_exits) in [(0, false), (1, true)] {
        let direct = env.push("hello", &format!("{}/stall/r{run}:1", registry.host()));
        let digest = direct.split_once('@').unwrap().1;
        let through_proxy = format!("{}/stall/r{run}@{digest}", proxy.host());
        proxy.clear();
        proxy.inject(Fault {
            method: "PUT",
            path_contains: ".sig".into(),
            action: Action::Hold,
            times: 1,
        });
        let held_before = proxy.held();
        let slow = start_sign(&env, &through_proxy, &slow_key);
        while proxy.held() == held_before {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        // The fast signer goes through the proxy too (the fault is spent), so that its write
        // is seen there.
        let mut fast = start_sign(&env, &through_proxy, &fast_key);
        let fast_output = if until_fast_exits {
            let out = fast.wait_with_output().unwrap();
            proxy.release();
            out
        } else {
            while !proxy
                .log()
                .iter()
                .any(|l| l.method == "PUT" && l.path.contains(".sig") && l.status == 201)
            {
                assert!(fast.try_wait().unwrap().is_none(), "the fast signer wrote");
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            proxy.release();
            fast.wait_with_output().unwrap()
        };
        let (fast_code, fast_out, fast_err) = decode(fast_output);
        let (slow_code, _, slow_err) = decode(slow.wait_with_output().unwrap());
        let verifies = |public: &str| env.wp(&["verify", &direct, "--key", public]).0 == 0;
        let (fast_kept, slow_kept) = (verifies(&fast_public), verifies(&slow_public));
        // The promise: a signature missing at the end is never met by two exits 0.
        assert!(
            (fast_kept && slow_kept) || fast_code != 0 || slow_code != 0,
            "run {run}: fast exit {fast_code} kept {fast_kept}, slow exit {slow_code} \
             kept {slow_kept}: {fast_err}{slow_err}"
        );
        assert!(slow_kept, "the slow signer's own layer is in the tag");
        assert_eq!(fast_code, 0, "{fast_err}");
        if !until_fast_exits {
            // Within the window: the fast signer noticed and wrote again.
            assert!(fast_kept && slow_kept);
            assert_eq!(json(&fast_out)["attempts"], 2, "{fast_out}");
            // The slow signer's own write was quick to land once released; on a machine so
            // loaded that it took over the guard, it says so.
            if slow_code != 0 {
                assert_clean_error(slow_code, "", &slow_err, "a write over the guard");
                assert!(slow_err.contains("may have been replaced"), "{slow_err}");
            }
        } else {
            // Beyond it: the fast signer finished with its layer in the tag, and the late
            // writer that dropped it says so.
            assert!(
                !fast_kept,
                "the late write replaced the fast signer's layer"
            );
            assert_clean_error(slow_code, "", &slow_err, "a stalled write");
            assert!(
                slow_err.contains("may have been replaced") && slow_err.contains(".sig"),
                "{slow_err}"
            );
        }
    }
}

// ---- tamper suite, on an OCI image layout (cosign cannot read one; its cases are judged by
// cosign against a registry in `tampering_judged_by_cosign_too`) ----

struct Layout {
    root: PathBuf,
}

impl Layout {
    fn index(&self) -> Value {
        json(&std::fs::read_to_string(self.root.join("index.json")).unwrap())
    }
    fn tagged(&self, tag: &str) -> String {
        self.index()["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
            .unwrap_or_else(|| panic!("no tag {tag}"))["digest"]
            .as_str()
            .unwrap()
            .to_string()
    }
    fn blob_path(&self, digest: &str) -> PathBuf {
        self.root
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"))
    }
    fn read(&self, digest: &str) -> Vec<u8> {
        std::fs::read(self.blob_path(digest)).unwrap()
    }
    fn flip(&self, digest: &str, at: usize) {
        let mut b = self.read(digest);
        let i = at.min(b.len() - 1);
        b[i] ^= 0x01;
        std::fs::write(self.blob_path(digest), b).unwrap();
    }
    /// Stores `bytes` as a blob; returns its digest.
    fn put(&self, bytes: &[u8]) -> String {
        use sha2::Digest;
        let hex: String = sha2::Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        std::fs::write(self.root.join("blobs/sha256").join(&hex), bytes).unwrap();
        format!("sha256:{hex}")
    }
    /// Points `tag` at a manifest with these bytes (stored first).
    fn retag(&self, tag: &str, manifest: &[u8]) {
        let digest = self.put(manifest);
        let mut index = self.index();
        for m in index["manifests"].as_array_mut().unwrap() {
            if m["annotations"]["org.opencontainers.image.ref.name"] == tag {
                m["digest"] = Value::from(digest.clone());
                m["size"] = Value::from(manifest.len());
            }
        }
        std::fs::write(
            self.root.join("index.json"),
            serde_json::to_vec(&index).unwrap(),
        )
        .unwrap();
    }
    fn manifest(&self, tag: &str) -> Value {
        json(&String::from_utf8(self.read(&self.tagged(tag))).unwrap())
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

#[test]
fn the_tamper_suite_rejects_each_case_with_its_reason() {
    let t = common::require!("go");
    let env = Env::new(&t);
    let (key, public) = env.keys("wp");
    let (_, other_public) = env.keys("other");
    let predicate = sbom(&env);
    let pristine = env.path("pristine");
    let layout = |tag: &str| format!("oci-layout:{}:{tag}", pristine.display());
    // A: signed and attested; B: another artifact, signed and attested; C: unsigned;
    // D: a module that breaks the sandboxed policy (it opens sockets), validly signed.
    for (tag, module) in [
        ("a", "hello"),
        ("b", "files"),
        ("c", "reactor"),
        ("d", "netserver"),
    ] {
        env.ok(&["push", t.go_fixture(module).to_str().unwrap(), &layout(tag)]);
    }
    for tag in ["a", "b", "d"] {
        env.ok(&["sign", &layout(tag), "--key", &key]);
        env.ok(&[
            "attest",
            &layout(tag),
            "--key",
            &key,
            "--predicate",
            &predicate,
        ]);
    }
    let pristine_layout = Layout {
        root: pristine.clone(),
    };
    let digest_of = |tag: &str| pristine_layout.tagged(tag);
    let sig_tag = |tag: &str| format!("{}.sig", digest_of(tag).replace(':', "-"));
    let att_tag = |tag: &str| format!("{}.att", digest_of(tag).replace(':', "-"));
    let (a_sig, a_att, b_sig, b_att) = (sig_tag("a"), att_tag("a"), sig_tag("b"), att_tag("b"));

    // The untouched layout verifies.
    let verify = |root: &Path, tag: &str, public: &str, policy: Option<&str>| {
        let reference = format!("oci-layout:{}:{tag}", root.display());
        let mut args = vec![
            "verify",
            reference.as_str(),
            "--key",
            public,
            "--require-attestation",
            "spdx",
            "--json",
        ];
        if let Some(p) = policy {
            args.extend(["--policy", p]);
        }
        let (code, out, err) = env.wp(&args);
        (code, out, err)
    };
    let (code, out, err) = verify(&pristine, "a", &public, Some("wasip1-default"));
    assert_eq!(code, 0, "{err}{out}");

    type Tamper<'a> = Box<dyn Fn(&Layout) + 'a>;
    /// (case, tampering, tag verified, step that must fail, policy, reason in its detail)
    type Case<'a> = (
        &'a str,
        Tamper<'a>,
        &'a str,
        &'a str,
        Option<&'a str>,
        &'a str,
    );
    let cases: Vec<Case> = vec![
        (
            "wasm blob byte",
            Box::new(|l: &Layout| {
                let m = l.manifest("a");
                l.flip(m["layers"][0]["digest"].as_str().unwrap(), 1000);
            }),
            "a",
            "module",
            None,
            "digest",
        ),
        (
            "manifest byte",
            Box::new(|l: &Layout| {
                let d = l.tagged("a");
                l.flip(&d, 40);
            }),
            "a",
            "resolve",
            None,
            "digest",
        ),
        (
            "config byte",
            Box::new(|l: &Layout| {
                let m = l.manifest("a");
                l.flip(m["config"]["digest"].as_str().unwrap(), 5);
            }),
            "a",
            "config",
            None,
            "digest",
        ),
        (
            "signature payload byte",
            Box::new(|l: &Layout| {
                let m = l.manifest(&a_sig);
                l.flip(m["layers"][0]["digest"].as_str().unwrap(), 30);
            }),
            "a",
            "signature",
            None,
            "digest",
        ),
        (
            "signature byte",
            Box::new(|l: &Layout| {
                let mut m = l.manifest(&a_sig);
                let ann = &mut m["layers"][0]["annotations"]["dev.cosignproject.cosign/signature"];
                let mut sig = base64_decode(ann.as_str().unwrap());
                let n = sig.len();
                sig[n - 3] ^= 0x01;
                *ann = Value::from(base64_encode(&sig));
                l.retag(&a_sig, &serde_json::to_vec(&m).unwrap());
            }),
            "a",
            "signature",
            None,
            "does not verify",
        ),
        (
            "DSSE payload byte",
            Box::new(|l: &Layout| {
                rewrite_envelope(l, &a_att, |env| {
                    let mut body = base64_decode(env["payload"].as_str().unwrap());
                    let i = body.len() / 2;
                    body[i] ^= 0x01;
                    env["payload"] = Value::from(base64_encode(&body));
                });
            }),
            "a",
            "attestation spdx",
            None,
            "DSSE signature does not verify",
        ),
        (
            "DSSE signature byte",
            Box::new(|l: &Layout| {
                rewrite_envelope(l, &a_att, |env| {
                    let mut sig = base64_decode(env["signatures"][0]["sig"].as_str().unwrap());
                    let n = sig.len();
                    sig[n - 2] ^= 0x01;
                    env["signatures"][0]["sig"] = Value::from(base64_encode(&sig));
                });
            }),
            "a",
            "attestation spdx",
            None,
            "DSSE signature does not verify",
        ),
        (
            "signature copied from another artifact",
            Box::new(|l: &Layout| {
                let b = l.read(&l.tagged(&b_sig));
                l.retag(&a_sig, &b);
            }),
            "a",
            "signature",
            None,
            "not this artifact",
        ),
        (
            "attestation about another digest",
            Box::new(|l: &Layout| {
                let b = l.read(&l.tagged(&b_att));
                l.retag(&a_att, &b);
            }),
            "a",
            "attestation spdx",
            None,
            "not this artifact",
        ),
        (
            "tag moved to an unsigned manifest after signing",
            Box::new(|l: &Layout| {
                let c = l.read(&l.tagged("c"));
                l.retag("a", &c);
            }),
            "a",
            "signature",
            None,
            "no signatures",
        ),
        (
            "signature and attestations removed",
            Box::new(|l: &Layout| {
                let mut index = l.index();
                index["manifests"].as_array_mut().unwrap().retain(|m| {
                    let t = m["annotations"]["org.opencontainers.image.ref.name"]
                        .as_str()
                        .unwrap_or("");
                    !t.ends_with(".sig") && !t.ends_with(".att")
                });
                std::fs::write(
                    l.root.join("index.json"),
                    serde_json::to_vec(&index).unwrap(),
                )
                .unwrap();
            }),
            "a",
            "attestation spdx",
            None,
            "not found",
        ),
        (
            "a policy violation under a valid signature",
            Box::new(|_: &Layout| {}),
            "d",
            "policy",
            Some("wasip1-sandboxed"),
            "violation",
        ),
    ];
    let other = other_public.clone();
    let mut all = cases;
    all.push((
        "valid signature, wrong key",
        Box::new(|_: &Layout| {}),
        "a",
        "signature",
        None,
        "does not verify with this key",
    ));
    assert!(all.len() >= 12);
    for (i, (name, tamper, tag, step, policy, reason)) in all.iter().enumerate() {
        let root = env.path(&format!("case{i}"));
        copy_dir(&pristine, &root);
        tamper(&Layout { root: root.clone() });
        let key = if name.contains("wrong key") {
            &other
        } else {
            &public
        };
        let (code, out, err) = verify(&root, tag, key, *policy);
        assert_eq!(
            code, 1,
            "{name}: expected a failed verification, got {code}: {err}{out}"
        );
        let report = json(&out);
        let failed: Vec<&Value> = report["steps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["passed"] == false)
            .collect();
        let hit = failed
            .iter()
            .find(|s| s["step"] == *step)
            .unwrap_or_else(|| panic!("{name}: step {step} did not fail: {out}"));
        assert!(
            hit["detail"].as_str().unwrap().contains(reason),
            "{name}: {hit}"
        );
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// Rewrites the DSSE envelope of the first layer under `tag` and re-points the manifest.
fn rewrite_envelope(l: &Layout, tag: &str, change: impl Fn(&mut Value)) {
    let mut m = l.manifest(tag);
    let mut envelope =
        json(&String::from_utf8(l.read(m["layers"][0]["digest"].as_str().unwrap())).unwrap());
    change(&mut envelope);
    let bytes = serde_json::to_vec(&envelope).unwrap();
    let digest = l.put(&bytes);
    m["layers"][0]["digest"] = Value::from(digest);
    m["layers"][0]["size"] = Value::from(bytes.len());
    l.retag(tag, &serde_json::to_vec(&m).unwrap());
}

#[test]
fn tampering_judged_by_cosign_too() {
    let t = common::require!("go", "crane", "cosign2");
    let registry = t.crane_registry();
    let env = Env::new(&t);
    let (key, public) = env.keys("wp");
    let (_, other_public) = env.keys("other");
    let host = registry.host();
    let a = env.push("hello", &format!("{host}/t/app:1"));
    let b = env.push("files", &format!("{host}/t/other:1"));
    env.ok(&["sign", &a, "--key", &key]);
    env.ok(&["sign", &b, "--key", &key]);
    // Wrong key: both refuse.
    let (code, _, _) = env.wp(&["verify", &a, "--key", &other_public]);
    assert_eq!(code, 1);
    let (code, _, _) = env.cosign(2, &["verify", "--key", &other_public, &a]);
    assert_ne!(code, 0, "cosign refuses the wrong key too");
    // B's signature copied onto A: both refuse (the payload names B's digest).
    let digest = |r: &str| r.split('@').nth(1).unwrap().replace(':', "-");
    let crane = t.path("crane");
    let b_sig = format!("{host}/t/other:{}.sig", digest(&b));
    let a_sig_repo = format!("{host}/t/app:{}.sig", digest(&a));
    let st = Command::new(&crane)
        .args(["copy", &b_sig, &a_sig_repo, "--insecure"])
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let (code, out, _) = env.wp(&["verify", &a, "--key", &public]);
    assert_eq!(code, 1);
    assert!(out.contains("not this artifact"), "{out}");
    let (code, _, _) = env.cosign(2, &["verify", "--key", &public, &a]);
    assert_ne!(code, 0, "cosign refuses a signature of another digest too");
    // The tag moved to an unsigned build after signing: both refuse the tag.
    let tag = format!("{host}/t/app:1");
    env.push("reactor", &tag);
    let (code, out, _) = env.wp(&["verify", &tag, "--key", &public]);
    assert_eq!(code, 1);
    assert!(out.contains("no signatures"), "{out}");
    let (code, _, _) = env.cosign(2, &["verify", "--key", &public, &tag]);
    assert_ne!(code, 0, "cosign refuses the moved tag too");
}

/// A copy of the bundled example, built (and signed, with `sign`) into its dist/.
fn built_example(env: &Env, sign: Option<&str>) -> PathBuf {
    env.t.path("go");
    let dir = env.path("hello");
    common::copy_tree(&repo().join("examples/hello"), &dir);
    let mut args = vec!["build", dir.to_str().unwrap(), "--json"];
    if let Some(key) = sign {
        args.extend(["--sign", key]);
    }
    let (code, out, err) = env.wp_with(
        &args,
        &[("WASIPACK_CACHE", env.path("cache").to_str().unwrap())],
    );
    assert_eq!(code, 0, "{err}{out}");
    dir.join("dist")
}

#[test]
fn push_with_a_key_signs_and_attests_sbom_and_provenance_in_one_command() {
    let t = common::require!("go", "crane", "cosign2", "cosign3");
    let registry = t.crane_registry();
    let env = Env::new(&t);
    let (key, public) = env.keys("wp");
    let dist = built_example(&env, None);
    let reference = format!("{}/onecmd/hello:1", registry.host());
    let out = env.ok(&[
        "push",
        dist.to_str().unwrap(),
        &reference,
        "--key",
        &key,
        "--json",
    ]);
    let report = json(&out);
    let signed = report["pushed"][0]["signed"].as_array().unwrap();
    assert_eq!(signed.len(), 3, "{out}");
    for version in [2, 3] {
        let (code, _, err) = env.cosign(version, &["verify", "--key", &public, &reference]);
        assert_eq!(code, 0, "cosign{version}: {err}");
        for kind in ["spdxjson", "slsaprovenance1"] {
            let (code, out, err) = env.cosign(
                version,
                &[
                    "verify-attestation",
                    "--key",
                    &public,
                    "--type",
                    kind,
                    &reference,
                ],
            );
            assert_eq!(code, 0, "cosign{version} {kind}: {err}");
            if kind == "slsaprovenance1" && version == 2 {
                use base64::Engine;
                let envelope = json(out.lines().next().unwrap());
                let statement = json(
                    &String::from_utf8(
                        base64::engine::general_purpose::STANDARD
                            .decode(envelope["payload"].as_str().unwrap())
                            .unwrap(),
                    )
                    .unwrap(),
                );
                let p = &statement["predicate"];
                assert_eq!(
                    p["buildDefinition"]["internalParameters"]["env"]["GOOS"], "wasip1",
                    "{p}"
                );
                let command = p["buildDefinition"]["internalParameters"]["command"].to_string();
                assert!(
                    command.contains("-trimpath") && command.contains("hello.wasm"),
                    "{command}"
                );
                assert!(
                    p["runDetails"]["builder"]["version"]["toolchain"]
                        .as_str()
                        .unwrap()
                        .contains("go1."),
                    "{p}"
                );
                assert!(
                    p["runDetails"]["builder"]["id"]
                        .as_str()
                        .unwrap()
                        .contains("wasipack"),
                    "{p}"
                );
            }
        }
    }
    let (code, out, err) = env.wp(&[
        "verify",
        &reference,
        "--key",
        &public,
        "--require-attestation",
        "spdx,slsa",
        "--policy",
        "wasip1-default",
    ]);
    assert_eq!(code, 0, "{err}{out}");
}

#[test]
fn push_with_an_unencrypted_key_signs_as_the_module_uploads_and_a_failed_upload_tags_nothing() {
    let t = common::require!("go", "crane", "docker-registry", "htpasswd", "cosign2");
    use p256::pkcs8::{EncodePrivateKey, LineEnding};
    let env = Env::new(&t);
    let key = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
    let (private, public) = (env.path("plain.key"), env.path("plain.pub"));
    std::fs::write(
        &private,
        key.to_pkcs8_pem(LineEnding::LF).unwrap().as_bytes(),
    )
    .unwrap();
    // Kept as a private key is kept (0600): one readable by others gets a warning line.
    #[cfg(unix)]
    std::fs::set_permissions(
        &private,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    std::fs::write(
        &public,
        wasipack::sign::keys::public_pem(key.verifying_key()),
    )
    .unwrap();
    let (private, public) = (private.to_str().unwrap(), public.to_str().unwrap());
    let module = t.go_fixture("hello");
    let module = module.to_str().unwrap();
    for registry in registries(&env) {
        let reference = format!("{}/plain/hello:1", registry.host());
        let out = env.ok(&["push", module, &reference, "--key", private, "--json"]);
        let signed = json(&out)["pushed"][0]["signed"].as_array().unwrap().len();
        assert_eq!(signed, 3, "{out}");
        let (code, _, err) = env.cosign(2, &["verify", "--key", public, &reference]);
        assert_eq!(code, 0, "cosign verify on {}: {err}", registry.host());
        for kind in ["spdxjson", "slsaprovenance1"] {
            let args = [
                "verify-attestation",
                "--key",
                public,
                "--type",
                kind,
                &reference,
            ];
            let (code, _, err) = env.cosign(2, &args);
            assert_eq!(code, 0, "cosign {kind} on {}: {err}", registry.host());
        }
        // Pushed again: the same signature is there already and is not added twice.
        let out = env.ok(&["push", module, &reference, "--key", private, "--json"]);
        let layers = json(&out)["pushed"][0]["signed"][0]["layers"].clone();
        assert_eq!(layers, 1, "{out}");
        env.ok(&[
            "verify",
            &reference,
            "--key",
            public,
            "--require-attestation",
            "spdx,slsa",
            "--policy",
            "wasip1-default",
        ]);
    }

    // The module's upload keeps failing: a one-line error, and the artifact's tag was never
    // written (the signature, made first, names a digest that is not there).
    let registry = t.crane_registry();
    let proxy = Proxy::start(registry.addr);
    proxy.inject(Fault {
        method: "PUT",
        path_contains: "/blobs/uploads/".into(),
        action: Action::Status(503, None),
        times: 1000,
    });
    let other = t.go_fixture("files");
    let reference = format!("{}/plain/broken:1", proxy.host());
    let (code, out, err) = env.wp(&[
        "push",
        other.to_str().unwrap(),
        &reference,
        "--key",
        private,
    ]);
    assert_clean_error(code, &out, &err, "push --key through a failing registry");
    assert!(err.contains("503"), "{err}");
    let (code, _, _) = decode(
        t.command("crane")
            .args([
                "manifest",
                &format!("{}/plain/broken:1", registry.host()),
                "--insecure",
            ])
            .output()
            .unwrap(),
    );
    assert_ne!(code, 0, "the tag must not exist");
}

#[test]
fn build_sign_signs_in_the_layout_and_push_carries_the_signatures() {
    let t = common::require!("go", "crane", "cosign2", "cosign3");
    let registry = t.crane_registry();
    let env = Env::new(&t);
    let (key, public) = env.keys("wp");
    let dist = built_example(&env, Some(&key));
    let layout = format!("oci-layout:{}:hello", dist.join("oci").display());
    let (code, out, err) = env.wp(&[
        "verify",
        &layout,
        "--key",
        &public,
        "--require-attestation",
        "spdx,slsa",
    ]);
    assert_eq!(code, 0, "{err}{out}");
    let reference = format!("{}/carried/hello:1", registry.host());
    let out = env.ok(&["push", dist.to_str().unwrap(), &reference, "--json"]);
    let sidecars = json(&out)["pushed"][0]["sidecars"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(sidecars, 2, "{out}");
    let (code, _, err) = env.cosign(2, &["verify", "--key", &public, &reference]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = env.cosign(
        2,
        &[
            "verify-attestation",
            "--key",
            &public,
            "--type",
            "spdxjson",
            &reference,
        ],
    );
    assert_eq!(code, 0, "{err}");
    // Another signer signs in the registry; pushing the layout again keeps that signature.
    let (other_key, other_public) = env.keys("other");
    env.ok(&["sign", &reference, "--key", &other_key]);
    env.ok(&["push", dist.to_str().unwrap(), &reference]);
    for public in [&public, &other_public] {
        let (code, out, err) = env.cosign(2, &["verify", "--key", public, &reference]);
        assert_eq!(code, 0, "{public}: {err}");
        // cosign lists the signatures this key verifies: one each, both kept.
        assert_eq!(json(&out).as_array().unwrap().len(), 1, "{out}");
    }
}

impl Env {
    /// cosign 3 in its default mode (Sigstore bundles through referrers), offline.
    fn cosign3_bundles(&self, args: &[&str]) -> (i32, String, String) {
        let offline = repo().join("testdata/cosign");
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let verb = args[0];
        if verb == "sign" || verb == "attest" || verb == "sign-blob" {
            all.push(format!(
                "--signing-config={}",
                offline.join("signing-config-offline.json").display()
            ));
            all.push("-y".into());
        }
        all.push(format!(
            "--trusted-root={}",
            offline.join("trusted-root-empty.json").display()
        ));
        if verb.starts_with("verify") {
            all.push("--insecure-ignore-tlog=true".into());
        }
        let mut cmd = self.t.command("cosign3");
        cmd.args(&all)
            .current_dir(self.dir.path())
            .env("DOCKER_CONFIG", self.docker())
            .env("COSIGN_PASSWORD", PASSWORD)
            .env("TUF_ROOT", self.path("tuf"))
            .stdin(Stdio::null());
        decode(cmd.output().unwrap())
    }
}

#[test]
fn sigstore_bundles_through_referrers_interoperate_with_cosign_3() {
    let t = common::require!("go", "crane", "cosign3");
    // With the referrers API and without it (the fallback index).
    let with_api = t.referrers_registry();
    let without = t.crane_registry();
    let env = Env::new(&t);
    let (key, public) = env.keys("wp");
    let (code, _, err) = env.cosign(3, &["generate-key-pair", "--output-key-prefix", "c3"]);
    assert_eq!(code, 0, "{err}");
    let predicate = sbom(&env);
    for (i, host) in [with_api.host(), without.host()].iter().enumerate() {
        // wasipack --referrers: cosign 3, which reads bundles first, verifies.
        let reference = env.push("hello", &format!("{host}/bundles/wp{i}:1"));
        env.ok(&["sign", &reference, "--key", &key, "--referrers"]);
        env.ok(&[
            "attest",
            &reference,
            "--key",
            &key,
            "--predicate",
            &predicate,
            "--referrers",
        ]);
        let (code, _, err) = env.cosign3_bundles(&["verify", "--key", &public, &reference]);
        assert_eq!(
            code, 0,
            "cosign3 verify of wasipack's bundle ({host}): {err}"
        );
        let (code, _, err) = env.cosign3_bundles(&[
            "verify-attestation",
            "--key",
            &public,
            "--type",
            "spdxjson",
            &reference,
        ]);
        assert_eq!(
            code, 0,
            "cosign3 verify-attestation of wasipack's bundle ({host}): {err}"
        );

        // cosign 3's own bundles: wasipack verifies them.
        let reference = env.push("files", &format!("{host}/bundles/c3{i}:1"));
        let (code, _, err) = env.cosign3_bundles(&["sign", "--key", "c3.key", &reference]);
        assert_eq!(code, 0, "cosign3 sign: {err}");
        let (code, _, err) = env.cosign3_bundles(&[
            "attest",
            "--key",
            "c3.key",
            "--type",
            "spdxjson",
            "--predicate",
            &predicate,
            &reference,
        ]);
        assert_eq!(code, 0, "cosign3 attest: {err}");
        let (code, out, err) = env.wp(&[
            "verify",
            &reference,
            "--key",
            "c3.pub",
            "--require-attestation",
            "spdx",
        ]);
        assert_eq!(
            code, 0,
            "wasipack verify of cosign3's bundles ({host}): {err}{out}"
        );
        assert!(out.contains("Sigstore bundle"), "{out}");
        let (code, out, _) = env.wp(&["verify", &reference, "--key", &public]);
        assert_eq!(code, 1, "the wrong key: {out}");
    }

    // Blob bundles, both ways.
    let module = env.path("m.wasm");
    std::fs::copy(t.go_fixture("hello"), &module).unwrap();
    let module = module.to_str().unwrap();
    env.ok(&["sign-blob", module, "--key", &key, "--bundle", "wp.bundle"]);
    let (code, _, err) = env.cosign3_bundles(&[
        "verify-blob",
        "--key",
        &public,
        "--bundle",
        "wp.bundle",
        module,
    ]);
    assert_eq!(code, 0, "cosign3 verify-blob: {err}");
    let (code, _, err) = env.cosign3_bundles(&[
        "sign-blob",
        "--key",
        "c3.key",
        "--bundle",
        "c3.bundle",
        module,
    ]);
    assert_eq!(code, 0, "cosign3 sign-blob: {err}");
    let (code, out, err) = env.wp(&["verify", module, "--key", "c3.pub", "--bundle", "c3.bundle"]);
    assert_eq!(code, 0, "{err}{out}");
    std::fs::write(env.path("other.wasm"), b"\0asm\x01\0\0\0").unwrap();
    let (code, out, _) = env.wp(&[
        "verify",
        "other.wasm",
        "--key",
        "c3.pub",
        "--bundle",
        "c3.bundle",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("signs another file"), "{out}");
}

#[test]
fn a_key_that_does_not_open_leaves_nothing_tagged_or_written() {
    let t = common::require!("go", "crane");
    let registry = t.crane_registry();
    let env = Env::new(&t);
    let (key, _) = env.keys("wp");
    let wrong = [("COSIGN_PASSWORD", "wrong")];
    let reference = format!("{}/gate/hello:1", registry.host());
    let module = t.go_fixture("hello");
    let (code, out, err) = env.wp_with(
        &["push", module.to_str().unwrap(), &reference, "--key", &key],
        &wrong,
    );
    assert_clean_error(code, &out, &err, "push --key with a wrong password");
    assert!(err.contains("wrong password"), "{err}");
    let (code, _, _) = decode(
        t.command("crane")
            .args(["manifest", &reference, "--insecure"])
            .output()
            .unwrap(),
    );
    assert_ne!(code, 0, "the tag must not exist");

    let dir = env.path("hello");
    common::copy_tree(&repo().join("examples/hello"), &dir);
    let (code, out, err) = env.wp_with(
        &["build", dir.to_str().unwrap(), "--sign", &key],
        &[
            ("COSIGN_PASSWORD", "wrong"),
            ("WASIPACK_CACHE", env.path("cache").to_str().unwrap()),
        ],
    );
    assert_clean_error(code, &out, &err, "build --sign with a wrong password");
    assert!(!dir.join("dist").exists(), "build wrote output");
}

//! Key signatures in the transparency log: with an instance configured (`--signing-config`),
//! `--key` signatures and attestations are logged in its Rekor v2 with a timestamp, as cosign's
//! `--tlog-upload` does, so that `cosign verify --key` accepts them without
//! `--insecure-ignore-tlog`; `wasipack verify --key --trusted-root` checks the entry. Against
//! the local Sigstore instance (scripts/sigstore-stack.sh) and a registry with the referrers
//! API, judged by the real cosign v3 (and v2.6 with `--new-bundle-format`). Nothing here
//! reaches the internet.

mod common;

use common::sigstore::Stack;
use common::{assert_clean_error, decode, wasipack, Tools};
use std::path::{Path, PathBuf};

const PASSWORD: &str = "tlog-test";

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// wasipack in `dir`, with the key's password and a fixed creation time.
fn wp(args: &[&str], dir: &Path) -> (i32, String, String) {
    let mut cmd = wasipack();
    cmd.args(args)
        .current_dir(dir)
        .env("COSIGN_PASSWORD", PASSWORD)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .env_remove("SIGSTORE_ID_TOKEN");
    decode(cmd.output().expect("wasipack runs"))
}

/// A cosign key pair in `dir` (wasipack writes cosign's format): (private, public).
fn key_pair(dir: &Path) -> (PathBuf, PathBuf) {
    let prefix = dir.join("cosign");
    let (code, out, err) = wp(
        &["generate-key-pair", "--output-key-prefix", &s(&prefix)],
        dir,
    );
    assert_eq!(code, 0, "{out}{err}");
    (dir.join("cosign.key"), dir.join("cosign.pub"))
}

/// A cosign binary (`cosign3` or `cosign2`) in `dir`, offline: its own TUF and docker dirs.
fn cosign(t: &Tools, which: &str, dir: &Path, args: &[&str]) -> (i32, String, String) {
    let mut cmd = t.offline_cosign(which, dir);
    cmd.args(args).env("COSIGN_PASSWORD", PASSWORD);
    decode(cmd.output().unwrap())
}

/// `cosign3 COMMAND... --key PUB --trusted-root TR REF` (`command`: the subcommand and its
/// own flags): no --insecure-ignore-tlog.
fn cosign_verify(
    t: &Tools,
    stack: &Stack,
    dir: &Path,
    public: &Path,
    command: &[&str],
    reference: &str,
) -> (i32, String, String) {
    let root = format!("--trusted-root={}", s(&stack.trusted_root()));
    let key = format!("--key={}", s(public));
    let mut args = command.to_vec();
    args.extend([&key[..], &root[..], "--allow-http-registry", reference]);
    cosign(t, "cosign3", dir, &args)
}

/// The one `FAIL` line of a failed verify.
fn fail_line(out: &str) -> String {
    let lines: Vec<&str> = out.lines().filter(|l| l.starts_with("FAIL")).collect();
    assert_eq!(lines.len(), 1, "one failed step expected: {out}");
    lines[0].to_string()
}

/// `push MODULE REGISTRY/tlog/NAME:1` with `extra` flags; the reference by digest.
fn push(module: &Path, registry: &str, name: &str, extra: &[&str], dir: &Path) -> String {
    let reference = format!("{registry}/tlog/{name}:1");
    let mut args = vec!["push", module.to_str().unwrap(), &reference, "--json"];
    args.extend_from_slice(extra);
    let (code, out, err) = wp(&args, dir);
    assert_eq!(code, 0, "push {extra:?}: {out}{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    report["pushed"][0]["reference"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn push_key_with_an_instance_logs_signature_and_attestations_that_cosign_verifies_without_insecure_ignore_tlog(
) {
    let t = common::require!("sigstore", "cosign3", "go", "crane");
    let stack: &Stack = t.sigstore_stack();
    let registry = t.referrers_registry();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let (key, public) = key_pair(dir);
    let module = t.go_fixture("hello");
    let config = s(&stack.signing_config());
    let root = s(&stack.trusted_root());

    let mut cmd = wasipack();
    cmd.args([
        "push",
        &s(&module),
        &format!("{}/tlog/logged:1", registry.host()),
        "--key",
        &s(&key),
        "--signing-config",
        &config,
        // Each logged bundle is checked against the root before it is stored.
        "--trusted-root",
        &root,
        "--json",
    ])
    .env("COSIGN_PASSWORD", PASSWORD)
    .current_dir(dir);
    let (code, out, err) = decode(cmd.output().unwrap());
    assert_eq!(code, 0, "{out}{err}");
    let (by_digest, signed) = common::pushed_with_three_bundle_referrers(&out);

    // cosign v3 accepts the signature and both attestations with the key and the trust root
    // alone: the log entries are checked, not skipped.
    let (code, out, err) = cosign_verify(&t, stack, dir, &public, &["verify"], &by_digest);
    assert_eq!(code, 0, "cosign3 verify --key: {out}{err}");
    assert!(
        err.contains("transparency log was verified"),
        "cosign checked the log: {err}"
    );
    for kind in ["spdxjson", "slsaprovenance1"] {
        let (code, out, err) = cosign_verify(
            &t,
            stack,
            dir,
            &public,
            &["verify-attestation", "--type", kind],
            &by_digest,
        );
        assert_eq!(
            code, 0,
            "cosign3 verify-attestation --key --type {kind}: {out}{err}"
        );
    }

    // The bundle cosign reads: the key's hint, a Rekor v2 hashedrekord entry with an inclusion
    // proof, and the timestamp authority's timestamp.
    let referrer = signed[0]["referrer"].as_str().unwrap();
    let repo = format!("{}/tlog/logged", registry.host());
    let (code, manifest, err) = t.run("crane", &["manifest", &format!("{repo}@{referrer}")], dir);
    assert_eq!(code, 0, "{err}");
    let manifest: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    let layer = manifest["layers"][0]["digest"].as_str().unwrap();
    let (code, bundle, err) = t.run("crane", &["blob", &format!("{repo}@{layer}")], dir);
    assert_eq!(code, 0, "{err}");
    let bundle: serde_json::Value = serde_json::from_str(&bundle).unwrap();
    let material = &bundle["verificationMaterial"];
    assert!(material["publicKey"]["hint"].is_string(), "{bundle}");
    assert_eq!(
        material["tlogEntries"][0]["kindVersion"],
        serde_json::json!({"kind": "hashedrekord", "version": "0.0.2"}),
        "{bundle}"
    );
    assert!(
        material["tlogEntries"][0]["inclusionProof"]["checkpoint"]["envelope"].is_string(),
        "{bundle}"
    );
    assert!(
        material["timestampVerificationData"]["rfc3161Timestamps"][0]["signedTimestamp"]
            .is_string(),
        "{bundle}"
    );

    // Signing the same manifest again with the same key logs a second entry (the log refuses
    // an entry equal to one it holds: the logged signature's nonce is hedged).
    let (code, out, err) = wp(
        &[
            "sign",
            &by_digest,
            "--key",
            &s(&key),
            "--signing-config",
            &config,
            "--json",
        ],
        dir,
    );
    assert_eq!(code, 0, "signing again: {out}{err}");
    let again: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_ne!(again["referrer"], signed[0]["referrer"], "{out}");

    // wasipack checks the entries too.
    let (code, out, err) = wp(
        &[
            "verify",
            &by_digest,
            "--key",
            &s(&public),
            "--trusted-root",
            &root,
            "--require-attestation",
            "spdx,slsa",
        ],
        dir,
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("verifies, in the transparency log"),
        "the signature step says it was logged: {out}"
    );
}

#[test]
fn tlog_upload_false_signs_unlogged_and_cosign_and_wasipack_refuse_it_against_the_trust_root() {
    let t = common::require!("sigstore", "cosign3", "go");
    let stack: &Stack = t.sigstore_stack();
    let registry = t.referrers_registry();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let (key, public) = key_pair(dir);
    let module = t.go_fixture("hello");
    let config = s(&stack.signing_config());
    let root = s(&stack.trusted_root());
    let by_digest = push(
        &module,
        &registry.host(),
        "unlogged",
        &[
            "--key",
            &s(&key),
            "--signing-config",
            &config,
            "--tlog-upload=false",
            "--attach",
            "bundles",
        ],
        dir,
    );
    let (code, out, err) = cosign_verify(&t, stack, dir, &public, &["verify"], &by_digest);
    assert_ne!(
        code, 0,
        "cosign3 accepted an unlogged signature: {out}{err}"
    );
    assert!(err.contains("log"), "{err}");
    let (code, out, err) = cosign_verify(
        &t,
        stack,
        dir,
        &public,
        &["verify", "--insecure-ignore-tlog=true"],
        &by_digest,
    );
    assert_eq!(code, 0, "the signature itself is good: {out}{err}");

    // wasipack: against the trust root, exit 1 and the step names why; without it (offline,
    // the key alone) it verifies, as before.
    let (code, out, _) = wp(
        &[
            "verify",
            &by_digest,
            "--key",
            &s(&public),
            "--trusted-root",
            &root,
        ],
        dir,
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        fail_line(&out).contains("not logged: the bundle holds no transparency log entry"),
        "{out}"
    );
    let (code, out, err) = wp(&["verify", &by_digest, "--key", &s(&public)], dir);
    assert_eq!(code, 0, "{out}{err}");

    // A signing config without a log (cosign's offline one) signs unlogged, as cosign does;
    // asking for the log with it is a usage error.
    let offline = s(&common::repo().join("testdata/cosign/signing-config-offline.json"));
    let file = dir.join("f.txt");
    std::fs::write(&file, "f\n").unwrap();
    let (code, out, err) = wp(
        &[
            "sign-blob",
            &s(&file),
            "--key",
            &s(&key),
            "--signing-config",
            &offline,
        ],
        dir,
    );
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = wp(
        &[
            "sign-blob",
            &s(&file),
            "--key",
            &s(&key),
            "--signing-config",
            &offline,
            "--tlog-upload",
            "--bundle",
            &s(&dir.join("f.json")),
        ],
        dir,
    );
    assert_clean_error(
        code,
        &out,
        &err,
        "--tlog-upload with a config without a log",
    );
    assert!(err.contains("names no transparency log"), "{err}");

    // A logged signature has no place in cosign v2's tags: refused before anything is sent.
    let reference = format!("{}/tlog/tags:1", registry.host());
    let (code, out, err) = wp(
        &[
            "push",
            &s(&module),
            &reference,
            "--key",
            &s(&key),
            "--signing-config",
            &config,
            "--attach",
            "tags",
        ],
        dir,
    );
    assert_clean_error(code, &out, &err, "--attach tags with a log");
    assert!(err.contains("--attach tags"), "{err}");
    let (code, _, _) = wp(&["pull", &reference, "-o", &s(&dir.join("p.wasm"))], dir);
    assert_ne!(code, 0, "nothing was pushed");
}

#[test]
fn wasipack_verifies_what_cosign_signed_and_attested_with_a_key_and_logged() {
    let t = common::require!("sigstore", "cosign3", "go");
    let stack: &Stack = t.sigstore_stack();
    let registry = t.referrers_registry();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let (key, public) = key_pair(dir);
    let module = t.go_fixture("hello");
    let sbom = dir.join("sbom.spdx.json");
    let (code, out, err) = wp(&["sbom", &s(&module), "-o", &s(&sbom)], dir);
    assert_eq!(code, 0, "{out}{err}");
    let by_digest = push(&module, &registry.host(), "theirs", &[], dir);
    let config = format!("--signing-config={}", s(&stack.signing_config()));
    let root = format!("--trusted-root={}", s(&stack.trusted_root()));
    let key_flag = format!("--key={}", s(&key));
    let (code, out, err) = cosign(
        &t,
        "cosign3",
        dir,
        &[
            "sign",
            &key_flag,
            &config,
            &root,
            "--allow-http-registry",
            "--yes",
            &by_digest,
        ],
    );
    assert_eq!(code, 0, "cosign3 sign --key: {out}{err}");
    let (code, out, err) = cosign(
        &t,
        "cosign3",
        dir,
        &[
            "attest",
            &key_flag,
            &config,
            &root,
            "--allow-http-registry",
            "--yes",
            "--type",
            "spdxjson",
            "--predicate",
            &s(&sbom),
            &by_digest,
        ],
    );
    assert_eq!(code, 0, "cosign3 attest --key: {out}{err}");
    let root = s(&stack.trusted_root());
    let (code, out, err) = wp(
        &[
            "verify",
            &by_digest,
            "--key",
            &s(&public),
            "--trusted-root",
            &root,
            "--require-attestation",
            "spdx",
        ],
        dir,
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("verifies, in the transparency log"), "{out}");

    // Another key: the logged signature is not its, exit 1.
    let other = tempfile::tempdir().unwrap();
    let (_, other_public) = key_pair(other.path());
    let (code, out, _) = wp(
        &[
            "verify",
            &by_digest,
            "--key",
            &s(&other_public),
            "--trusted-root",
            &root,
        ],
        dir,
    );
    assert_eq!(code, 1, "{out}");
    fail_line(&out);
}

/// `sign-blob FILE --key KEY --signing-config CONFIG --bundle BUNDLE` in `dir`.
fn sign_blob_key(
    file: &Path,
    key: &Path,
    config: &str,
    bundle: &Path,
    dir: &Path,
) -> (i32, String, String) {
    wp(
        &[
            "sign-blob",
            &s(file),
            "--key",
            &s(key),
            "--signing-config",
            config,
            "--bundle",
            &s(bundle),
        ],
        dir,
    )
}

#[test]
fn sign_blob_with_an_instance_is_logged_for_cosign_and_an_altered_inclusion_proof_fails_in_one_line(
) {
    let t = common::require!("sigstore", "cosign3");
    let stack: &Stack = t.sigstore_stack();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let (key, public) = key_pair(dir);
    let config = s(&stack.signing_config());
    let root = s(&stack.trusted_root());
    let sign_blob = |file: &Path, bundle: &Path| sign_blob_key(file, &key, &config, bundle, dir);
    // Two signatures, so that the second's inclusion proof has a path to alter.
    let first = dir.join("first.txt");
    std::fs::write(&first, "first\n").unwrap();
    let (code, out, err) = sign_blob(&first, &dir.join("first.sigstore.json"));
    assert_eq!(code, 0, "{out}{err}");
    let file = dir.join("module.txt");
    std::fs::write(&file, "the artifact\n").unwrap();
    let bundle = dir.join("module.sigstore.json");
    let (code, out, err) = sign_blob(&file, &bundle);
    assert_eq!(code, 0, "{out}{err}");

    let (code, out, err) = cosign(
        &t,
        "cosign3",
        dir,
        &[
            "verify-blob",
            &format!("--key={}", s(&public)),
            &format!("--bundle={}", s(&bundle)),
            &format!("--trusted-root={root}"),
            &s(&file),
        ],
    );
    assert_eq!(
        code, 0,
        "cosign3 verify-blob --key, tlog checked: {out}{err}"
    );
    let verify = |bundle: &Path| {
        wp(
            &[
                "verify",
                &s(&file),
                "--key",
                &s(&public),
                "--bundle",
                &s(bundle),
                "--trusted-root",
                &root,
            ],
            dir,
        )
    };
    let (code, out, err) = verify(&bundle);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("verifies with the key, logged, timestamped"),
        "{out}"
    );

    // One hash of the inclusion path altered: exit 1, one FAIL line naming the log entry.
    let altered =
        common::sigstore::with_inclusion_hash_altered(&bundle, dir.join("altered.sigstore.json"));
    let (code, out, _) = verify(&altered);
    assert_eq!(code, 1, "{out}");
    assert!(fail_line(&out).contains("log entry"), "{out}");

    // Another file's bundle: its entry and signature are not this file's.
    let (code, out, _) = verify(&dir.join("first.sigstore.json"));
    assert_eq!(code, 1, "{out}");
    fail_line(&out);

    // Logged, the signature lives in its bundle: sign-blob without --bundle is refused before
    // anything is logged or written.
    let sig = dir.join("unbundled.sig");
    let (code, out, err) = wp(
        &[
            "sign-blob",
            &s(&file),
            "--key",
            &s(&key),
            "--signing-config",
            &config,
            "--output-signature",
            &s(&sig),
        ],
        dir,
    );
    assert_clean_error(code, &out, &err, "sign-blob logged without --bundle");
    assert!(err.contains("--bundle"), "{err}");
    assert!(!sig.exists());
}

#[test]
fn cosign2_with_the_new_bundle_format_accepts_a_logged_key_signature() {
    let t = common::require!("sigstore", "cosign2", "go");
    let stack: &Stack = t.sigstore_stack();
    let registry = t.referrers_registry();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let (key, public) = key_pair(dir);
    let module = t.go_fixture("hello");
    let by_digest = push(
        &module,
        &registry.host(),
        "for-cosign2",
        &[
            "--key",
            &s(&key),
            "--signing-config",
            &s(&stack.signing_config()),
        ],
        dir,
    );
    let root = format!("--trusted-root={}", s(&stack.trusted_root()));
    let key_flag = format!("--key={}", s(&public));
    let (code, out, err) = cosign(
        &t,
        "cosign2",
        dir,
        &[
            "verify",
            &key_flag,
            &root,
            "--new-bundle-format",
            "--allow-http-registry",
            &by_digest,
        ],
    );
    assert_eq!(code, 0, "cosign2 verify --new-bundle-format: {out}{err}");
    let (code, out, err) = cosign(
        &t,
        "cosign2",
        dir,
        &[
            "verify-attestation",
            &key_flag,
            &root,
            "--new-bundle-format",
            "--allow-http-registry",
            "--type",
            "spdxjson",
            &by_digest,
        ],
    );
    assert_eq!(
        code, 0,
        "cosign2 verify-attestation --new-bundle-format: {out}{err}"
    );
}

#[test]
fn build_sign_with_an_instance_logs_in_the_layout_and_the_push_carries_it_to_cosign() {
    let t = common::require!("sigstore", "cosign3", "go");
    let stack: &Stack = t.sigstore_stack();
    let registry = t.referrers_registry();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let (key, public) = key_pair(dir);
    let project = dir.join("hello");
    common::copy_tree(&common::repo().join("examples/hello"), &project);
    let mut cmd = wasipack();
    cmd.args(["build", &s(&project), "--sign", &s(&key)])
        .args(["--signing-config", &s(&stack.signing_config())])
        .env("COSIGN_PASSWORD", PASSWORD)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .env("WASIPACK_CACHE", dir.join("cache"))
        .current_dir(dir);
    let (code, out, err) = decode(cmd.output().unwrap());
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains("the Sigstore bundle referrer"),
        "logged, the signature is a bundle referrer in the layout: {err}"
    );
    let dist = project.join("dist");
    let root = s(&stack.trusted_root());
    let layout = format!("oci-layout:{}:hello", s(&dist.join("oci")));
    let (code, out, err) = wp(
        &[
            "verify",
            &layout,
            "--key",
            &s(&public),
            "--trusted-root",
            &root,
            "--require-attestation",
            "spdx,slsa",
        ],
        dir,
    );
    assert_eq!(code, 0, "{out}{err}");
    let by_digest = push(&dist, &registry.host(), "built", &[], dir);
    let (code, out, err) = cosign_verify(&t, stack, dir, &public, &["verify"], &by_digest);
    assert_eq!(
        code, 0,
        "cosign3 verify --key of build --sign's pushed signature: {out}{err}"
    );
}

#[test]
fn sign_blob_key_with_a_log_that_refuses_or_a_stopped_timestamp_authority_fails_in_one_line_naming_it(
) {
    let t = common::require!("sigstore");
    let stack: &Stack = t.sigstore_stack();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let (key, _) = key_pair(dir);
    let tsa = stack.url("TSA_URL");
    let tsa_base = tsa.trim_end_matches("/api/v1/timestamp").to_string();
    let stopped = format!(
        "http://127.0.0.1:{}/api/v1/timestamp",
        common::servers::free_port()
    );
    let file = dir.join("f.txt");
    std::fs::write(&file, "logged or not at all\n").unwrap();
    for (name, log, timestamps, says, tried) in [
        (
            "log-refuses",
            Some(tsa_base.as_str()),
            None,
            format!("error: logging the signature failed: the transparency log {tsa_base} answered HTTP 404: "),
            false,
        ),
        (
            "tsa-stopped",
            None,
            Some(stopped.as_str()),
            format!("error: logging the signature failed: the timestamp authority {stopped} could not be reached: "),
            true,
        ),
    ] {
        let config = stack.signing_config_with(log, timestamps, &dir.join(format!("{name}.json")));
        let bundle = dir.join(format!("{name}.sigstore.json"));
        let (code, out, err) = sign_blob_key(&file, &key, &config, &bundle, dir);
        assert_clean_error(code, &out, &err, name);
        assert!(err.starts_with(&says), "{name}: {err}");
        assert_eq!(err.trim_end().ends_with(" (tried 3 times)"), tried, "{name}: {err}");
        assert!(!bundle.exists(), "{name}: a bundle was written");
    }
}

#[test]
fn push_key_with_a_log_that_refuses_fails_in_one_line_and_leaves_no_tag_and_no_signature() {
    let t = common::require!("sigstore", "go", "crane");
    let stack: &Stack = t.sigstore_stack();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let (key, _) = key_pair(dir);
    let module = t.go_fixture("hello");
    let tsa_base = stack
        .url("TSA_URL")
        .trim_end_matches("/api/v1/timestamp")
        .to_string();
    // The timestamp authority's address as the log's: a real server that answers 404.
    let config = stack.signing_config_with(Some(&tsa_base), None, &dir.join("refusing.json"));
    // crane has no referrers API (the signature would be a `.sig` tag); the other registry has
    // it (the signature would be a bundle referrer).
    // The key is encrypted (its derivation takes a while), and `--attach both` adds cosign
    // v2's unlogged tags: neither may let the manifest be tagged before the log has answered.
    for (name, registry, attach) in [
        ("crane", t.crane_registry(), "auto"),
        ("crane, --attach both", t.crane_registry(), "both"),
        ("referrers", t.referrers_registry(), "auto"),
    ] {
        let host = registry.host();
        let reference = format!("{host}/tlog/refused:1");
        let (code, out, err) = wp(
            &[
                "push",
                &s(&module),
                &reference,
                "--key",
                &s(&key),
                "--signing-config",
                &config,
                "--attach",
                attach,
            ],
            dir,
        );
        assert_clean_error(code, &out, &err, name);
        assert!(
            err.starts_with(&format!(
                "error: logging the signature failed: the transparency log {tsa_base} answered HTTP 404: "
            )),
            "{name}: {err}"
        );
        let get = |path: &str| {
            let out = std::process::Command::new("curl")
                .args(["-sS", "-w", "\n%{http_code}"])
                .arg(format!("http://{host}/v2/tlog/refused/{path}"))
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout).to_string();
            let (body, status) = text.rsplit_once('\n').unwrap();
            (status.to_string(), body.to_string())
        };
        let (status, body) = get("tags/list");
        assert_eq!(status, "404", "{name}: no tag was pushed: {body}");
        // The same module pushed unsigned: the only tag is its own, and nothing refers to it.
        let (code, out, err) = wp(&["push", &s(&module), &reference], dir);
        assert_eq!(code, 0, "{name}: {out}{err}");
        let digest = out.trim().rsplit_once('@').unwrap().1.to_string();
        let (status, body) = get("tags/list");
        assert_eq!(status, "200", "{name}: {body}");
        let tags: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(tags["tags"], serde_json::json!(["1"]), "{name}: {body}");
        if name == "referrers" {
            let (status, body) = get(&format!("referrers/{digest}"));
            assert_eq!(status, "200", "{name}: {body}");
            let index: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(index["manifests"], serde_json::json!([]), "{name}: {body}");
        }
    }
}

#[test]
fn push_key_logged_with_attach_both_stores_bundles_cosign_verifies_and_the_v2_tags_beside_them() {
    let t = common::require!("sigstore", "cosign3", "go", "crane");
    let stack: &Stack = t.sigstore_stack();
    let registry = t.crane_registry();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let (key, public) = key_pair(dir);
    let module = t.go_fixture("hello");
    let config = s(&stack.signing_config());
    let by_digest = push(
        &module,
        &registry.host(),
        "both",
        &[
            "--key",
            &s(&key),
            "--signing-config",
            &config,
            "--attach",
            "both",
        ],
        dir,
    );
    // The logged bundles: cosign v3 checks their log entries against the trust root.
    let (code, out, err) = cosign_verify(&t, stack, dir, &public, &["verify"], &by_digest);
    assert_eq!(code, 0, "cosign3 verify --key: {out}{err}");
    // cosign v2's unlogged tags, beside the bundles (written by the same code as an unlogged
    // key's, which tests/trust.rs has cosign v2 verify; v2.6 reads the bundles first here).
    let hex = by_digest.rsplit_once("@sha256:").unwrap().1;
    let repo = format!("{}/tlog/both", registry.host());
    let (code, tags, err) = t.run("crane", &["ls", &repo], dir);
    assert_eq!(code, 0, "{err}");
    for suffix in ["sig", "att"] {
        assert!(
            tags.lines().any(|l| l == format!("sha256-{hex}.{suffix}")),
            "the .{suffix} tag: {tags}"
        );
    }
    let (code, manifest, err) = t.run(
        "crane",
        &["manifest", &format!("{repo}:sha256-{hex}.att")],
        dir,
    );
    assert_eq!(code, 0, "{err}");
    let manifest: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    assert_eq!(
        manifest["layers"].as_array().unwrap().len(),
        2,
        "the SPDX and SLSA attestations: {manifest}"
    );
}

/// A key's logged signature is checked against `--trusted-root` before its bundle is written,
/// as a keyless one is: a root without the instance's log fails in one line naming the root,
/// and no bundle is written; the stack's own root passes. For a blob, and for an artifact.
#[test]
fn sign_blob_key_logged_is_checked_against_the_trusted_root_before_the_bundle_is_written() {
    let t = common::require!("sigstore");
    let stack: &Stack = t.sigstore_stack();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let (key, _) = key_pair(dir);
    let no_log = stack.trusted_root_without("tlogs", &dir.join("no-log.json"));
    let file = dir.join("f.txt");
    std::fs::write(&file, "checked before it is written\n").unwrap();
    let bundle = dir.join("f.sigstore.json");
    let config = s(&stack.signing_config());
    let sign_blob = |root: &Path| {
        wp(
            &[
                "sign-blob",
                &s(&file),
                "--key",
                &s(&key),
                "--signing-config",
                &config,
                "--trusted-root",
                &s(root),
                "--bundle",
                &s(&bundle),
            ],
            dir,
        )
    };
    let (code, out, err) = sign_blob(&no_log);
    assert_clean_error(code, &out, &err, "a root without the log");
    assert!(
        err.starts_with(&format!(
            "error: logging the signature failed: the bundle made does not verify against {}: ",
            no_log.display()
        )),
        "{err}"
    );
    assert!(!bundle.exists(), "no bundle is written");
    let (code, out, err) = sign_blob(&stack.trusted_root());
    assert_eq!(code, 0, "{out}{err}");
    assert!(bundle.exists());

    // The same for an artifact's signature and attestation (DSSE bundles), in a layout.
    let module = dir.join("m.wasm");
    let wasm = wat::parse_str(r#"(module (memory (export "memory") 1) (func (export "_start")))"#);
    std::fs::write(&module, wasm.unwrap()).unwrap();
    let layout = format!("oci-layout:{}:1", s(&dir.join("oci")));
    let (code, out, err) = wp(&["push", &s(&module), &layout], dir);
    assert_eq!(code, 0, "{out}{err}");
    let sign = |root: &Path| {
        wp(
            &[
                "sign",
                &layout,
                "--key",
                &s(&key),
                "--signing-config",
                &config,
                "--trusted-root",
                &s(root),
            ],
            dir,
        )
    };
    let index = || std::fs::read(dir.join("oci/index.json")).unwrap();
    let before = index();
    let (code, out, err) = sign(&no_log);
    assert_clean_error(code, &out, &err, "sign, a root without the log");
    assert_eq!(index(), before, "nothing is written to the layout");
    assert!(
        err.starts_with(&format!(
            "error: logging the signature failed: the bundle made does not verify against {}: ",
            no_log.display()
        )),
        "{err}"
    );
    let (code, out, err) = sign(&stack.trusted_root());
    assert_eq!(code, 0, "{out}{err}");
}

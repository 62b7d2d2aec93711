//! Keyless signing and verification against a local Sigstore instance (scripts/sigstore-stack.sh:
//! Fulcio, Rekor v2, the timestamp authority and an OIDC issuer on 127.0.0.1), judged by the
//! real cosign v3. Nothing here reaches the internet: every command gets --signing-config or
//! --trusted-root of the local instance.

mod common;

use common::sigstore::Stack;
use common::test_ca::{self, TestCa};
use common::{assert_clean_error, decode, wasipack, Tools};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A wasipack command with no ambient identity of the machine running the tests.
fn clean(cmd: &mut Command) -> &mut Command {
    for var in [
        "SIGSTORE_ID_TOKEN",
        "GITHUB_ACTIONS",
        "ACTIONS_ID_TOKEN_REQUEST_URL",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        "GITLAB_CI",
        "BUILDKITE",
        "CIRCLECI",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

fn wp(args: &[&str], dir: &Path) -> (i32, String, String) {
    let mut cmd = wasipack();
    clean(&mut cmd).args(args).current_dir(dir);
    decode(cmd.output().expect("wasipack runs"))
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

fn blob(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// `cosign3 verify-blob --bundle` with the stack's trust root and the given identity/issuer.
fn cosign_verify_blob(
    t: &Tools,
    stack: &Stack,
    file: &Path,
    bundle: &Path,
    identity: &str,
    issuer: &str,
) -> (i32, String, String) {
    t.run(
        "cosign3",
        &[
            "verify-blob",
            "--bundle",
            &s(bundle),
            "--trusted-root",
            &s(&stack.trusted_root()),
            "--certificate-identity",
            identity,
            "--certificate-oidc-issuer",
            issuer,
            "--insecure-ignore-sct",
            &s(file),
        ],
        stack.dir(),
    )
}

fn cosign_sign_blob(t: &Tools, stack: &Stack, file: &Path, bundle: &Path, token: &str) {
    let (code, out, err) = t.run(
        "cosign3",
        &[
            "sign-blob",
            "--yes",
            "--signing-config",
            &s(&stack.signing_config()),
            "--trusted-root",
            &s(&stack.trusted_root()),
            "--identity-token",
            token,
            "--bundle",
            &s(bundle),
            &s(file),
        ],
        stack.dir(),
    );
    assert_eq!(code, 0, "cosign sign-blob: {out}{err}");
}

/// `wasipack sign-blob FILE --keyless --bundle BUNDLE` in `dir` against `stack`, with a fresh
/// token: it must succeed.
fn sign_blob_keyless(stack: &Stack, file: &Path, bundle: &Path, dir: &Path) {
    let (code, out, err) = wp(
        &[
            "sign-blob",
            &s(file),
            "--keyless",
            "--identity-token",
            &stack.token(),
            "--signing-config",
            &s(&stack.signing_config()),
            "--bundle",
            &s(bundle),
        ],
        dir,
    );
    assert_eq!(
        code,
        0,
        "sign-blob --keyless {}: {out}{err}",
        bundle.display()
    );
}

/// `wasipack verify FILE --bundle B` with the stack's trust root.
fn wasipack_verify_blob(
    stack: &Stack,
    file: &Path,
    bundle: &Path,
    identity: &[&str],
    trusted_root: &Path,
) -> (i32, String, String) {
    let root = s(trusted_root);
    let mut args = vec![
        "verify",
        file.to_str().unwrap(),
        "--bundle",
        bundle.to_str().unwrap(),
        "--trusted-root",
        &root,
        "--insecure-ignore-sct",
    ];
    args.extend_from_slice(identity);
    wp(&args, stack.dir())
}

/// `wasipack verify REFERENCE` expecting the stack's identity and issuer, against its trust
/// root, with `extra` flags, in `dir`.
fn wasipack_verify_keyless(
    stack: &Stack,
    reference: &str,
    extra: &[&str],
    dir: &Path,
) -> (i32, String, String) {
    let (identity, issuer, root) = (stack.identity(), stack.issuer(), s(&stack.trusted_root()));
    let mut args = vec![
        "verify",
        reference,
        "--certificate-identity",
        &identity,
        "--certificate-oidc-issuer",
        &issuer,
        "--trusted-root",
        &root,
        "--insecure-ignore-sct",
    ];
    args.extend_from_slice(extra);
    wp(&args, dir)
}

/// The one `FAIL signature ...` line of a failed verify.
fn fail_line(out: &str) -> String {
    let lines: Vec<&str> = out.lines().filter(|l| l.starts_with("FAIL")).collect();
    assert_eq!(lines.len(), 1, "one failed step expected: {out}");
    lines[0].to_string()
}

#[test]
fn the_local_instance_lets_cosign_sign_keyless_and_verify_what_it_signed() {
    let t = common::require!("sigstore", "cosign3");
    let stack: &Stack = t.sigstore_stack();
    let work = tempfile::tempdir().unwrap();
    let file = blob(work.path(), "a.txt", "hello\n");
    let bundle = work.path().join("a.sigstore.json");
    cosign_sign_blob(&t, stack, &file, &bundle, &stack.token());
    let (code, out, err) = cosign_verify_blob(
        &t,
        stack,
        &file,
        &bundle,
        &stack.identity(),
        &stack.issuer(),
    );
    assert_eq!(code, 0, "{out}{err}");
    // The email kind of token too.
    let bundle = work.path().join("a.email.sigstore.json");
    cosign_sign_blob(&t, stack, &file, &bundle, &stack.token_of("email"));
    let (code, out, err) = cosign_verify_blob(
        &t,
        stack,
        &file,
        &bundle,
        &stack.email_identity(),
        &stack.email_issuer(),
    );
    assert_eq!(code, 0, "{out}{err}");
    // And cosign refuses another identity: the stack's files say what is expected.
    let (code, _, _) = cosign_verify_blob(
        &t,
        stack,
        &file,
        &bundle,
        &stack.identity(),
        &stack.issuer(),
    );
    assert_ne!(
        code, 0,
        "cosign accepted the email signature as the workflow's"
    );
}

#[test]
fn blob_bundles_go_both_ways_between_wasipack_and_cosign_and_a_wrong_signer_is_named() {
    let t = common::require!("sigstore", "cosign3");
    let stack: &Stack = t.sigstore_stack();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let file = blob(dir, "module.wasm.txt", "the artifact\n");
    let identity = stack.identity();
    let issuer = stack.issuer();
    let expect = [
        "--certificate-identity",
        identity.as_str(),
        "--certificate-oidc-issuer",
        issuer.as_str(),
    ];

    // wasipack signs, cosign verifies.
    let ours = dir.join("ours.sigstore.json");
    let token = stack.token();
    let (code, out, err) = wp(
        &[
            "sign-blob",
            &s(&file),
            "--keyless",
            "--identity-token",
            &token,
            "--signing-config",
            &s(&stack.signing_config()),
            "--bundle",
            &s(&ours),
            "--json",
        ],
        dir,
    );
    assert_eq!(code, 0, "{out}{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["identity"], identity.as_str(), "{out}");
    assert_eq!(report["issuer"], issuer.as_str(), "{out}");
    let (code, out, err) = cosign_verify_blob(&t, stack, &file, &ours, &identity, &issuer);
    assert_eq!(
        code, 0,
        "cosign verify-blob of wasipack's bundle: {out}{err}"
    );
    // The bundle is v0.3 with a certificate, a Rekor v2 entry and an RFC 3161 timestamp.
    let b: serde_json::Value = serde_json::from_slice(&std::fs::read(&ours).unwrap()).unwrap();
    assert_eq!(
        b["mediaType"],
        "application/vnd.dev.sigstore.bundle.v0.3+json"
    );
    assert!(
        b["verificationMaterial"]["certificate"]["rawBytes"].is_string(),
        "{b}"
    );
    assert_eq!(
        b["verificationMaterial"]["tlogEntries"][0]["kindVersion"]["version"], "0.0.2",
        "{b}"
    );
    assert!(
        b["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"][0].is_object(),
        "{b}"
    );

    // wasipack verifies its own and cosign's.
    let theirs = dir.join("theirs.sigstore.json");
    cosign_sign_blob(&t, stack, &file, &theirs, &stack.token());
    for bundle in [&ours, &theirs] {
        let (code, out, err) =
            wasipack_verify_blob(stack, &file, bundle, &expect, &stack.trusted_root());
        assert_eq!(code, 0, "{}: {out}{err}", bundle.display());
        assert!(out.contains(&format!("signed by {identity}")), "{out}");
    }
    // A regexp and the GitHub claims.
    let (code, out, err) = wasipack_verify_blob(
        stack,
        &file,
        &theirs,
        &[
            "--certificate-identity-regexp",
            "^https://github.com/wasipack/",
            "--certificate-oidc-issuer-regexp",
            "^http://127\\.0\\.0\\.1:",
            "--certificate-github-workflow-repository",
            "wasipack/example",
            "--certificate-github-workflow-ref",
            "refs/heads/main",
            "--certificate-github-workflow-trigger",
            "push",
        ],
        &stack.trusted_root(),
    );
    assert_eq!(code, 0, "{out}{err}");

    // Each mismatch: exit 1, one line naming expected and found.
    let wrong_identity = [
        "--certificate-identity",
        "https://github.com/evil/fork/.github/workflows/x.yml@refs/heads/main",
        "--certificate-oidc-issuer",
        issuer.as_str(),
    ];
    let (code, out, _) = wasipack_verify_blob(
        stack,
        &file,
        &theirs,
        &wrong_identity,
        &stack.trusted_root(),
    );
    assert_eq!(code, 1, "{out}");
    let line = fail_line(&out);
    assert!(
        line.contains("certificate identity: expected `https://github.com/evil/fork")
            && line.contains(&format!("found `{identity}`")),
        "{line}"
    );

    let wrong_issuer = [
        "--certificate-identity",
        identity.as_str(),
        "--certificate-oidc-issuer",
        "https://token.actions.githubusercontent.com",
    ];
    let (code, out, _) =
        wasipack_verify_blob(stack, &file, &theirs, &wrong_issuer, &stack.trusted_root());
    assert_eq!(code, 1, "{out}");
    let line = fail_line(&out);
    assert!(
        line.contains("OIDC issuer: expected `https://token.actions.githubusercontent.com`")
            && line.contains(&issuer),
        "{line}"
    );

    let mut wrong_repo = expect.to_vec();
    wrong_repo.extend(["--certificate-github-workflow-repository", "evil/fork"]);
    let (code, out, _) =
        wasipack_verify_blob(stack, &file, &theirs, &wrong_repo, &stack.trusted_root());
    assert_eq!(code, 1, "{out}");
    assert!(
        fail_line(&out)
            .contains("GitHub workflow repository: expected `evil/fork`, found `wasipack/example`"),
        "{out}"
    );

    // Tamper: the bundle of another file.
    let other = blob(dir, "other.txt", "another artifact\n");
    let (code, out, _) =
        wasipack_verify_blob(stack, &other, &theirs, &expect, &stack.trusted_root());
    assert_eq!(code, 1, "{out}");
    fail_line(&out);

    // Tamper: an altered inclusion proof (one hash of the path flipped; `theirs` is at least the
    // log's second entry, so its path has a hash).
    let altered =
        common::sigstore::with_inclusion_hash_altered(&theirs, dir.join("altered.sigstore.json"));
    let (code, out, _) =
        wasipack_verify_blob(stack, &file, &altered, &expect, &stack.trusted_root());
    assert_eq!(code, 1, "{out}");
    fail_line(&out);

    // Tamper: no timestamp. Rekor v2 entries carry no time of their own, so without the TSA's
    // the certificate's validity cannot be checked at the time of signing.
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&theirs).unwrap()).unwrap();
    v["verificationMaterial"]
        .as_object_mut()
        .unwrap()
        .remove("timestampVerificationData");
    let untimed = dir.join("untimed.sigstore.json");
    std::fs::write(&untimed, serde_json::to_vec(&v).unwrap()).unwrap();
    let (code, out, _) =
        wasipack_verify_blob(stack, &file, &untimed, &expect, &stack.trusted_root());
    assert_eq!(code, 1, "{out}");
    fail_line(&out);

    // Tamper: a trusted root without the CA.
    let no_ca = stack.trusted_root_without("certificateAuthorities", &dir.join("no-ca.json"));
    let (code, out, _) = wasipack_verify_blob(stack, &file, &theirs, &expect, &no_ca);
    assert_eq!(code, 1, "{out}");
    fail_line(&out);

    // Tamper: a trusted root without the log. The line names the entry's log and the root's.
    let no_log = stack.trusted_root_without("tlogs", &dir.join("no-log.json"));
    let (code, out, _) = wasipack_verify_blob(stack, &file, &theirs, &expect, &no_log);
    assert_eq!(code, 1, "{out}");
    let line = fail_line(&out);
    assert!(
        line.contains(&format!("the entry is in the log `{}`", stack.log_origin()))
            && line.ends_with("the trust root names no log"),
        "{line}"
    );
}

#[test]
fn sign_blob_keyless_takes_its_token_from_sigstore_id_token_or_github_actions_and_refuses_another_audience(
) {
    let t = common::require!("sigstore", "cosign3");
    let stack: &Stack = t.sigstore_stack();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let file = blob(dir, "f.txt", "signed from the environment\n");
    let sign = |bundle: &Path, env: &[(String, String)], extra: &[&str]| {
        let mut cmd = wasipack();
        clean(&mut cmd)
            .args([
                "sign-blob",
                &s(&file),
                "--keyless",
                "--signing-config",
                &s(&stack.signing_config()),
                "--bundle",
                &s(bundle),
            ])
            .args(extra)
            .envs(env.iter().cloned())
            .current_dir(dir);
        decode(cmd.output().unwrap())
    };
    let from_env = dir.join("env.sigstore.json");
    let (code, out, err) = sign(
        &from_env,
        &[("SIGSTORE_ID_TOKEN".into(), stack.token_of("email"))],
        &[],
    );
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = cosign_verify_blob(
        &t,
        stack,
        &file,
        &from_env,
        &stack.email_identity(),
        &stack.email_issuer(),
    );
    assert_eq!(code, 0, "{out}{err}");

    let from_actions = dir.join("actions.sigstore.json");
    let (code, out, err) = sign(&from_actions, &stack.actions_env(), &[]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = cosign_verify_blob(
        &t,
        stack,
        &file,
        &from_actions,
        &stack.identity(),
        &stack.issuer(),
    );
    assert_eq!(code, 0, "{out}{err}");

    // No token anywhere: one line, exit 2, no bundle.
    let none = dir.join("none.sigstore.json");
    let (code, out, err) = sign(&none, &[], &[]);
    assert_clean_error(code, &out, &err, "no token");
    assert!(err.contains("needs an OIDC identity token"), "{err}");
    assert!(!none.exists());

    // A token for another audience: refused before Fulcio is asked.
    let other = stack.token_for_audience("not-sigstore");
    let (code, out, err) = sign(&none, &[], &["--identity-token", &other]);
    assert_clean_error(code, &out, &err, "another audience");
    assert!(err.contains("not `sigstore`"), "{err}");
    assert!(!none.exists());
}

/// cosign3 against the stack: `sign`/`attest` get the signing config and a token, `verify*`
/// the trust root and the identity.
fn cosign(
    t: &Tools,
    stack: &Stack,
    dir: &Path,
    args: &[&str],
    token: Option<&str>,
) -> (i32, String, String) {
    cosign_against(t, "cosign3", stack, dir, args, token)
}

/// `which` (`cosign3` or `cosign2`) against the stack, as [`cosign`] says. cosign v2.6 also
/// needs, for Sigstore bundles of a private instance with Rekor v2, `--new-bundle-format`, and
/// to verify, `--use-signed-timestamps` (the RFC 3161 timestamp as the signing time, since
/// Rekor v2 entries carry none).
fn cosign_against(
    t: &Tools,
    which: &str,
    stack: &Stack,
    dir: &Path,
    args: &[&str],
    token: Option<&str>,
) -> (i32, String, String) {
    let v2 = which == "cosign2";
    let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    if v2 {
        all.push("--new-bundle-format".into());
    }
    all.push(format!("--trusted-root={}", s(&stack.trusted_root())));
    match token {
        Some(token) => {
            all.push(format!("--signing-config={}", s(&stack.signing_config())));
            all.push(format!("--identity-token={token}"));
            all.push("--yes".into());
        }
        None => {
            all.extend([
                format!("--certificate-identity={}", stack.identity()),
                format!("--certificate-oidc-issuer={}", stack.issuer()),
                "--insecure-ignore-sct".into(),
            ]);
            if v2 {
                all.push("--use-signed-timestamps".into());
            }
        }
    }
    decode(t.offline_cosign(which, dir).args(&all).output().unwrap())
}

#[test]
fn keyless_sign_and_attest_in_a_registry_are_what_cosign_verifies_and_cosigns_keyless_bundles_verify_in_wasipack(
) {
    let t = common::require!("sigstore", "cosign3", "go");
    let stack: &Stack = t.sigstore_stack();
    let registry = t.referrers_registry();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let module = t.go_fixture("hello");
    let sbom = dir.join("sbom.spdx.json");
    let (code, out, err) = wp(&["sbom", &s(&module), "-o", &s(&sbom)], dir);
    assert_eq!(code, 0, "{out}{err}");
    let push = |name: &str| {
        let (code, out, err) = wp(
            &[
                "push",
                &s(&module),
                &format!("{}/keyless/{name}:1", registry.host()),
            ],
            dir,
        );
        assert_eq!(code, 0, "{out}{err}");
        out.trim().to_string()
    };
    let config = s(&stack.signing_config());
    let identity = stack.identity();
    let issuer = stack.issuer();
    let root = s(&stack.trusted_root());
    let expect = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = vec![
            "--certificate-identity".into(),
            identity.clone(),
            "--certificate-oidc-issuer".into(),
            issuer.clone(),
            "--trusted-root".into(),
            root.clone(),
            "--insecure-ignore-sct".into(),
        ];
        v.extend(extra.iter().map(|e| e.to_string()));
        v
    };
    let verify = |reference: &str, extra: &[&str]| {
        let mut args = vec!["verify".to_string(), reference.to_string()];
        args.extend(expect(extra));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        wp(&args, dir)
    };

    // wasipack signs and attests keyless; cosign verifies.
    let ours = push("ours");
    let token = stack.token();
    let (code, out, err) = wp(
        &[
            "sign",
            &ours,
            "--keyless",
            "--identity-token",
            &token,
            "--signing-config",
            &config,
        ],
        dir,
    );
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = wp(
        &[
            "attest",
            &ours,
            "--keyless",
            "--identity-token",
            &token,
            "--signing-config",
            &config,
            "--predicate",
            &s(&sbom),
            "--type",
            "spdxjson",
        ],
        dir,
    );
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = cosign(&t, stack, dir, &["verify", &ours], None);
    assert_eq!(
        code, 0,
        "cosign3 verify of wasipack's keyless signature: {out}{err}"
    );
    let (code, out, err) = cosign(
        &t,
        stack,
        dir,
        &["verify-attestation", "--type", "spdxjson", &ours],
        None,
    );
    assert_eq!(
        code, 0,
        "cosign3 verify-attestation of wasipack's keyless SPDX: {out}{err}"
    );
    // And wasipack itself, with the attestation required.
    let (code, out, err) = verify(&ours, &["--require-attestation", "spdx"]);
    assert_eq!(code, 0, "{out}{err}");

    // cosign signs and attests keyless; wasipack verifies.
    let theirs = push("theirs");
    let (code, out, err) = cosign(&t, stack, dir, &["sign", &theirs], Some(&stack.token()));
    assert_eq!(code, 0, "cosign3 sign: {out}{err}");
    let (code, out, err) = cosign(
        &t,
        stack,
        dir,
        &[
            "attest",
            "--type",
            "spdxjson",
            "--predicate",
            &s(&sbom),
            &theirs,
        ],
        Some(&stack.token()),
    );
    assert_eq!(code, 0, "cosign3 attest: {out}{err}");
    let (code, out, err) = verify(
        &theirs,
        &[
            "--require-attestation",
            "spdx",
            "--certificate-github-workflow-repository",
            "wasipack/example",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");

    // A wrong identity, issuer or repository: exit 1, the failure names what did not match.
    for (flag, value, says) in [
        (
            "--certificate-identity",
            "https://github.com/evil/fork/.github/workflows/x.yml@refs/heads/main",
            "certificate identity: expected",
        ),
        (
            "--certificate-oidc-issuer",
            "https://token.actions.githubusercontent.com",
            "OIDC issuer: expected",
        ),
    ] {
        let mut args: Vec<String> = vec!["verify".into(), theirs.clone()];
        let mut e = expect(&[]);
        let at = e.iter().position(|a| a == flag).unwrap();
        e[at + 1] = value.to_string();
        args.extend(e);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, out, _) = wp(&args, dir);
        assert_eq!(code, 1, "{out}");
        assert!(fail_line(&out).contains(says), "{out}");
    }
    let (code, out, _) = verify(
        &theirs,
        &["--certificate-github-workflow-repository", "evil/fork"],
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        fail_line(&out).contains("GitHub workflow repository: expected `evil/fork`"),
        "{out}"
    );
    // A key signature is not a keyless one: an unsigned artifact fails.
    let unsigned = push("unsigned");
    let (code, out, _) = verify(&unsigned, &[]);
    assert_eq!(code, 1, "{out}");
}

#[test]
fn keyless_sign_and_attest_in_an_image_layout_verify_offline() {
    let t = common::require!("sigstore", "go");
    let stack: &Stack = t.sigstore_stack();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let module = t.go_fixture("hello");
    let sbom = dir.join("sbom.spdx.json");
    assert_eq!(wp(&["sbom", &s(&module), "-o", &s(&sbom)], dir).0, 0);
    let layout = format!("oci-layout:{}:hello", s(&dir.join("oci")));
    let (code, out, err) = wp(&["push", &s(&module), &layout], dir);
    assert_eq!(code, 0, "{out}{err}");
    let config = s(&stack.signing_config());
    let token = stack.token();
    let (code, out, err) = wp(
        &[
            "sign",
            &layout,
            "--keyless",
            "--identity-token",
            &token,
            "--signing-config",
            &config,
        ],
        dir,
    );
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = wp(
        &[
            "attest",
            &layout,
            "--keyless",
            "--identity-token",
            &token,
            "--signing-config",
            &config,
            "--predicate",
            &s(&sbom),
            "--type",
            "spdxjson",
        ],
        dir,
    );
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) =
        wasipack_verify_keyless(stack, &layout, &["--require-attestation", "spdx"], dir);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("ok   signature"), "{out}");
}

#[test]
fn push_keyless_with_the_github_actions_token_signs_and_attests_sbom_and_provenance_for_cosign() {
    let t = common::require!("sigstore", "cosign3", "go");
    let stack: &Stack = t.sigstore_stack();
    let registry = t.referrers_registry();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let module = t.go_fixture("hello");
    let reference = format!("{}/keyless/pushed:1", registry.host());
    let mut cmd = wasipack();
    clean(&mut cmd)
        .args([
            "push",
            &s(&module),
            &reference,
            "--keyless",
            "--signing-config",
            &s(&stack.signing_config()),
            "--trusted-root",
            &s(&stack.trusted_root()),
            "--json",
        ])
        .envs(stack.actions_env())
        .current_dir(dir);
    let (code, out, err) = decode(cmd.output().unwrap());
    assert_eq!(code, 0, "{out}{err}");
    let (by_digest, _) = common::pushed_with_three_bundle_referrers(&out);
    cosign_verifies_the_signature_and_both_attestations(&t, "cosign3", stack, dir, &by_digest);
    let (code, out, err) = wasipack_verify_keyless(
        stack,
        &by_digest,
        &[
            "--require-attestation",
            "spdx,slsa",
            "--certificate-github-workflow-ref",
            "refs/heads/main",
        ],
        dir,
    );
    assert_eq!(code, 0, "{out}{err}");

    // Without a token, nothing is pushed: one line, exit 2, the repository has no such tag.
    let reference = format!("{}/keyless/untokened:1", registry.host());
    let (code, out, err) = wp(
        &[
            "push",
            &s(&module),
            &reference,
            "--keyless",
            "--signing-config",
            &s(&stack.signing_config()),
        ],
        dir,
    );
    assert_clean_error(code, &out, &err, "push --keyless without a token");
    let (code, _, _) = wp(
        &["pull", &reference, "-o", &s(&dir.join("pulled.wasm"))],
        dir,
    );
    assert_ne!(code, 0, "nothing was pushed");
}

/// `wasipack build` of a fresh copy of examples/hello in `dir/hello`, with its own cache.
fn build_example(dir: &Path, args: &[&str], env: &[(String, String)]) -> (i32, String, String) {
    let project = dir.join("hello");
    if !project.exists() {
        common::copy_tree(&common::repo().join("examples/hello"), &project);
    }
    let mut cmd = wasipack();
    clean(&mut cmd)
        .arg("build")
        .arg(&project)
        .args(args)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .env("WASIPACK_CACHE", dir.join("cache"))
        .envs(env.iter().cloned())
        .current_dir(dir);
    decode(cmd.output().unwrap())
}

#[test]
fn build_sign_keyless_signs_and_attests_in_the_layout_as_push_keyless_does_and_cosign_verifies_it_pushed(
) {
    let t = common::require!("sigstore", "cosign3", "go");
    let stack: &Stack = t.sigstore_stack();
    let registry = t.referrers_registry();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let config = s(&stack.signing_config());
    let root = s(&stack.trusted_root());
    let token = stack.token();
    let keyless = [
        "--sign",
        "--keyless",
        "--identity-token",
        token.as_str(),
        "--signing-config",
        config.as_str(),
        "--trusted-root",
        root.as_str(),
    ];

    // Refused before anything is built: --sign with neither a key nor --keyless, a key and
    // --keyless, the tag form, and no token at all (one line, exit 2, no dist/).
    let dist = dir.join("hello/dist");
    for (args, says) in [
        (vec!["--sign"], "--sign needs a KEY, or --keyless"),
        (
            vec!["--sign", "k.key", "--keyless"],
            "--sign k.key and --keyless",
        ),
        (
            [&keyless[..], &["--attach", "tags"]].concat(),
            "build --sign --keyless stores Sigstore bundle referrers only: --attach tags",
        ),
        (
            vec!["--sign", "--keyless", "--signing-config", config.as_str()],
            "needs an OIDC identity token",
        ),
    ] {
        let (code, out, err) = build_example(dir, &args, &[]);
        assert_clean_error(code, &out, &err, &format!("build {args:?}"));
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!dist.exists(), "{args:?} wrote {}", dist.display());
    }

    // With the GitHub Actions token: the signature and both attestations are bundle referrers
    // in the layout (untagged entries of index.json).
    let (code, out, err) = build_example(
        dir,
        &["--sign", "--keyless", "--signing-config", &config],
        &stack.actions_env(),
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains("signed hello: the Sigstore bundle referrer sha256:")
            && err.contains("attested https://spdx.dev/Document, https://slsa.dev/provenance/v1"),
        "{err}"
    );
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dist.join("oci/index.json")).unwrap()).unwrap();
    let bundles = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["artifactType"] == "application/vnd.dev.sigstore.bundle.v0.3+json")
        .count();
    assert_eq!(bundles, 3, "{index}");
    assert!(
        !index.to_string().contains(".sig\""),
        "no cosign v2 tag: {index}"
    );

    let wasipack_verify = |reference: &str| {
        wasipack_verify_keyless(
            stack,
            reference,
            &[
                "--require-attestation",
                "spdx,slsa",
                "--policy",
                "wasip1-default",
            ],
            dir,
        )
    };
    // Offline, in the layout.
    let layout = format!("oci-layout:{}:hello", s(&dist.join("oci")));
    let (code, out, err) = wasipack_verify(&layout);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("ok   signature                Sigstore bundle"),
        "{out}"
    );

    // Pushed as is (no signing by push): cosign v3 and wasipack accept it in the registry.
    let (code, out, err) = wp(
        &[
            "push",
            &s(&dir.join("hello/dist")),
            &format!("{}/keyless/built:1", registry.host()),
        ],
        dir,
    );
    assert_eq!(code, 0, "{out}{err}");
    let by_digest = out.trim().to_string();
    cosign_verifies_the_signature_and_both_attestations(&t, "cosign3", stack, dir, &by_digest);
    let (code, out, err) = wasipack_verify(&by_digest);
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn two_local_instances_run_side_by_side_each_with_its_own_timestamp_authority() {
    let t = common::require!("sigstore", "cosign3");
    let shared: &Stack = t.sigstore_stack();
    let work = tempfile::tempdir().unwrap();
    let own = t.another_sigstore_stack(&work.path().join("stack"));
    let other: &Stack = &own.0;
    let tsa = |stack: &Stack| {
        std::fs::read_to_string(stack.dir().join("urls.env"))
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("TSA_URL=").map(str::to_string))
            .unwrap()
    };
    assert_ne!(tsa(shared), tsa(other));
    // Each signs, and each bundle verifies against its own instance's trust root only.
    let file = blob(work.path(), "f.txt", "two instances\n");
    let mut bundles = Vec::new();
    for (name, stack) in [("shared", shared), ("other", other)] {
        let bundle = work.path().join(format!("{name}.sigstore.json"));
        sign_blob_keyless(stack, &file, &bundle, work.path());
        let (code, out, err) = cosign_verify_blob(
            &t,
            stack,
            &file,
            &bundle,
            &stack.identity(),
            &stack.issuer(),
        );
        assert_eq!(code, 0, "{name}: {out}{err}");
        bundles.push(bundle);
    }
    let expect = |stack: &Stack| {
        vec![
            "--certificate-identity".to_string(),
            stack.identity(),
            "--certificate-oidc-issuer".to_string(),
            stack.issuer(),
        ]
    };
    let e = expect(other);
    let e: Vec<&str> = e.iter().map(String::as_str).collect();
    let (code, out, _) = wasipack_verify_blob(other, &file, &bundles[0], &e, &other.trusted_root());
    assert_eq!(
        code, 1,
        "the shared instance's bundle under the other's root: {out}"
    );
    let e = expect(shared);
    let e: Vec<&str> = e.iter().map(String::as_str).collect();
    let (code, out, err) =
        wasipack_verify_blob(shared, &file, &bundles[0], &e, &shared.trusted_root());
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn sign_and_attest_keyless_refuse_the_tag_form_in_one_line_instead_of_ignoring_attach() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let layout = format!("oci-layout:{}:x", s(&dir.join("oci")));
    let predicate = blob(dir, "p.json", "{}");
    for (command, extra) in [
        ("sign", vec![]),
        ("attest", vec!["--predicate", predicate.to_str().unwrap()]),
    ] {
        for (attach, says) in [
            (vec!["--attach", "tags"], "--attach tags"),
            (vec!["--attach", "both"], "--attach both (or --referrers)"),
            (vec!["--referrers"], "--attach both (or --referrers)"),
        ] {
            let mut args = vec![command, layout.as_str(), "--keyless"];
            args.extend(&extra);
            args.extend(&attach);
            let (code, out, err) = wp(&args, dir);
            assert_clean_error(code, &out, &err, &format!("{args:?}"));
            assert!(
                err.contains(&format!(
                    "{command} --keyless stores Sigstore bundle referrers only: {says}"
                )),
                "{args:?}: {err}"
            );
        }
    }
    // Nothing was created.
    assert!(!dir.join("oci").exists());
}

/// `which` (`cosign3`, `cosign2`) verifies, against the stack with its identity, the keyless
/// signature of `reference` and its SPDX and SLSA provenance attestations.
fn cosign_verifies_the_signature_and_both_attestations(
    t: &Tools,
    which: &str,
    stack: &Stack,
    dir: &Path,
    reference: &str,
) {
    let (code, out, err) = cosign_against(t, which, stack, dir, &["verify", reference], None);
    assert_eq!(code, 0, "{which} verify {reference}: {out}{err}");
    for kind in ["spdxjson", "slsaprovenance1"] {
        let args = ["verify-attestation", "--type", kind, reference];
        let (code, out, err) = cosign_against(t, which, stack, dir, &args, None);
        assert_eq!(
            code, 0,
            "{which} verify-attestation --type {kind}: {out}{err}"
        );
    }
}

/// cosign v2.6 against the stack ([`cosign_against`]).
fn cosign2(
    t: &Tools,
    stack: &Stack,
    dir: &Path,
    args: &[&str],
    token: Option<&str>,
) -> (i32, String, String) {
    cosign_against(t, "cosign2", stack, dir, args, token)
}

#[test]
fn cosign_v2_6_with_the_new_bundle_format_verifies_wasipacks_keyless_bundles_and_wasipack_its_blob_bundles_but_it_cannot_sign_images_against_rekor_v2(
) {
    let t = common::require!("sigstore", "cosign2", "go");
    let stack: &Stack = t.sigstore_stack();
    let registry = t.referrers_registry();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let identity = stack.identity();
    let issuer = stack.issuer();
    let expect = [
        "--certificate-identity",
        identity.as_str(),
        "--certificate-oidc-issuer",
        issuer.as_str(),
    ];

    // Blobs, both ways.
    let file = blob(dir, "f.txt", "for cosign v2.6\n");
    let ours = dir.join("ours.sigstore.json");
    sign_blob_keyless(stack, &file, &ours, dir);
    let (code, out, err) = cosign2(
        &t,
        stack,
        dir,
        &["verify-blob", &s(&file), "--bundle", &s(&ours)],
        None,
    );
    assert_eq!(
        code, 0,
        "cosign2 verify-blob of wasipack's bundle: {out}{err}"
    );
    let theirs = dir.join("theirs.sigstore.json");
    let (code, out, err) = cosign2(
        &t,
        stack,
        dir,
        &["sign-blob", &s(&file), "--bundle", &s(&theirs)],
        Some(&stack.token()),
    );
    assert_eq!(code, 0, "cosign2 sign-blob: {out}{err}");
    let b: serde_json::Value = serde_json::from_slice(&std::fs::read(&theirs).unwrap()).unwrap();
    assert_eq!(
        b["verificationMaterial"]["tlogEntries"][0]["kindVersion"]["version"], "0.0.2",
        "a Rekor v2 entry: {b}"
    );
    let (code, out, err) =
        wasipack_verify_blob(stack, &file, &theirs, &expect, &stack.trusted_root());
    assert_eq!(code, 0, "wasipack verify of cosign2's bundle: {out}{err}");

    // What push --keyless stored, in a registry with the referrers API.
    let module = t.go_fixture("hello");
    let mut cmd = wasipack();
    clean(&mut cmd)
        .args([
            "push",
            &s(&module),
            &format!("{}/keyless/v2:1", registry.host()),
            "--keyless",
            "--identity-token",
            &stack.token(),
            "--signing-config",
            &s(&stack.signing_config()),
        ])
        .current_dir(dir);
    let (code, out, err) = decode(cmd.output().unwrap());
    assert_eq!(code, 0, "{out}{err}");
    let by_digest = out.trim().to_string();
    cosign_verifies_the_signature_and_both_attestations(&t, "cosign2", stack, dir, &by_digest);

    // cosign v2.6.5 cannot sign an image keyless against this Rekor v2 (rekor-tiles v2.3.0):
    // it logs the DSSE envelope as a `dsse` entry, which that log no longer takes (it takes
    // `hashedrekord` entries only; cosign v3 and wasipack log the envelope's signature as one).
    // Pinned here so that a cosign v2 that can is noticed (docs/verify-with-cosign.md).
    let (code, out, err) = wp(
        &[
            "push",
            &s(&module),
            &format!("{}/keyless/v2theirs:1", registry.host()),
        ],
        dir,
    );
    assert_eq!(code, 0, "{out}{err}");
    let theirs = out.trim().to_string();
    let (code, out, err) = cosign2(&t, stack, dir, &["sign", &theirs], Some(&stack.token()));
    assert_ne!(
        code, 0,
        "cosign2 sign --new-bundle-format now works: {out}{err}"
    );
    assert!(
        err.contains("adding rekor v2 entry: unexpected response: 400")
            && err.contains("invalid type, must be hashedrekord"),
        "{err}"
    );
}

#[test]
fn a_token_for_another_audience_is_refused_by_fulcio_itself_in_one_line_naming_the_audience() {
    let t = common::require!("sigstore");
    let stack: &Stack = t.sigstore_stack();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let file = blob(dir, "f.txt", "for another audience\n");
    let bundle = dir.join("f.sigstore.json");
    let token = stack.token_for_audience("not-sigstore");
    let sign = |extra: &[&str]| {
        let mut args = vec![
            "sign-blob",
            file.to_str().unwrap(),
            "--keyless",
            "--identity-token",
            token.as_str(),
            "--signing-config",
        ];
        let config = s(&stack.signing_config());
        let bundle = s(&bundle);
        let mut all: Vec<String> = args.drain(..).map(str::to_string).collect();
        all.extend([config, "--bundle".into(), bundle]);
        all.extend(extra.iter().map(|e| e.to_string()));
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        wp(&all, dir)
    };
    // wasipack's own check, before Fulcio is asked.
    let (code, out, err) = sign(&[]);
    assert_clean_error(code, &out, &err, "another audience, wasipack's check");
    assert!(
        err.contains("issued for audience `not-sigstore`, not `sigstore`"),
        "{err}"
    );
    // Told that the instance's client ID is `not-sigstore`, wasipack sends the token; this
    // Fulcio knows its issuer by the client ID `sigstore` and refuses it.
    let (code, out, err) = sign(&["--oidc-client-id", "not-sigstore"]);
    assert_clean_error(code, &out, &err, "another audience, Fulcio's refusal");
    assert!(
        err.starts_with(
            "error: Fulcio refused the identity token (audience `not-sigstore`, issuer `"
        ) && err.contains(&stack.issuer())
            && err.contains("HTTP 4"),
        "{err}"
    );
    assert!(!bundle.exists());
    // The same token is fine for that client ID's check but not for `sigstore`'s: the flag
    // moves wasipack's check, not Fulcio's.
    let (code, out, err) = sign(&["--oidc-client-id", "sigstore"]);
    assert_clean_error(code, &out, &err, "explicit sigstore client ID");
}

#[test]
fn a_keyless_bundle_with_no_timestamp_inside_its_certificates_validity_is_refused_naming_what_failed(
) {
    let t = common::require!("sigstore", "cosign3");
    let stack: &Stack = t.sigstore_stack();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let identity = stack.identity();
    let issuer = stack.issuer();
    let expect = [
        "--certificate-identity",
        identity.as_str(),
        "--certificate-oidc-issuer",
        issuer.as_str(),
    ];
    let sign = |name: &str| {
        let file = blob(dir, &format!("{name}.txt"), &format!("{name}\n"));
        let bundle = dir.join(format!("{name}.sigstore.json"));
        sign_blob_keyless(stack, &file, &bundle, dir);
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
        (file, v)
    };
    let (file, good) = sign("a");
    let (_, other) = sign("b");
    let write = |name: &str, v: &serde_json::Value| {
        let p = dir.join(name);
        std::fs::write(&p, serde_json::to_vec(v).unwrap()).unwrap();
        p
    };
    let verify =
        |bundle: &Path, root: &Path| wasipack_verify_blob(stack, &file, bundle, &expect, root);
    let (code, out, err) = verify(&write("good.json", &good), &stack.trusted_root());
    assert_eq!(code, 0, "{out}{err}");

    // No timestamp at all: a Rekor v2 entry has no time of its own, so nothing places the
    // signature inside the certificate's ten minutes. cosign refuses it too.
    let mut untimed = good.clone();
    untimed["verificationMaterial"]
        .as_object_mut()
        .unwrap()
        .remove("timestampVerificationData");
    let untimed = write("untimed.json", &untimed);
    let (code, out, _) = verify(&untimed, &stack.trusted_root());
    assert_eq!(code, 1, "{out}");
    assert!(fail_line(&out).contains("no verified timestamp"), "{out}");
    let (code, _, _) = cosign_verify_blob(&t, stack, &file, &untimed, &identity, &issuer);
    assert_ne!(code, 0, "cosign3 accepted a bundle without a timestamp");

    // The timestamp of another signature (the TSA's, genuine, but over other bytes).
    let mut borrowed = good.clone();
    borrowed["verificationMaterial"]["timestampVerificationData"] =
        other["verificationMaterial"]["timestampVerificationData"].clone();
    let (code, out, _) = verify(&write("borrowed.json", &borrowed), &stack.trusted_root());
    assert_eq!(code, 1, "{out}");
    assert!(fail_line(&out).contains("RFC 3161 timestamp"), "{out}");

    // A trust root whose Fulcio CA stopped being trusted before the signature was made: the
    // certificate's issuer was not valid at the signing time the timestamp vouches for.
    let mut root: serde_json::Value =
        serde_json::from_slice(&std::fs::read(stack.trusted_root()).unwrap()).unwrap();
    let start = root["certificateAuthorities"][0]["validFor"]["start"]
        .as_str()
        .unwrap()
        .to_string();
    root["certificateAuthorities"][0]["validFor"]["end"] = serde_json::Value::String(start);
    let retired = dir.join("retired-ca.json");
    std::fs::write(&retired, serde_json::to_vec(&root).unwrap()).unwrap();
    let (code, out, _) = verify(&write("good2.json", &good), &retired);
    assert_eq!(code, 1, "{out}");
    assert!(
        fail_line(&out).contains("no trusted certificate authority is valid at"),
        "{out}"
    );
}

#[test]
fn push_keyless_of_a_dual_target_build_signs_the_index_and_each_entry_for_cosign_and_verify_platform(
) {
    let t = common::require!("sigstore", "cosign3", "go");
    let stack: &Stack = t.sigstore_stack();
    let registry = t.referrers_registry();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    // examples/hello, with both targets and each target's default policy.
    common::copy_tree(&common::repo().join("examples/hello"), &dir.join("hello"));
    std::fs::write(
        dir.join("hello/wasipack.toml"),
        "[build]\ntarget = [\"wasip1\", \"wasip2\"]\n",
    )
    .unwrap();
    let (code, out, err) = build_example(dir, &["--json"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let index_digest = report["modules"][0]["index_digest"]
        .as_str()
        .expect("an image index")
        .to_string();
    let repo_ref = format!("{}/keyless/dual", registry.host());
    let (code, out, err) = wp(
        &[
            "push",
            &s(&dir.join("hello/dist")),
            &format!("{repo_ref}:v1"),
            "--keyless",
            "--identity-token",
            &stack.token(),
            "--signing-config",
            &s(&stack.signing_config()),
            "--json",
        ],
        dir,
    );
    assert_eq!(code, 0, "{out}{err}");
    let pushed: serde_json::Value = serde_json::from_str(&out).unwrap();
    let digests: Vec<&str> = pushed["pushed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["digest"].as_str().unwrap())
        .collect();
    assert!(digests.contains(&index_digest.as_str()), "{out}");
    assert_eq!(digests.len(), 3, "two entries and the index: {out}");

    // cosign v3 verifies the index's own signature, and each entry's.
    for digest in &digests {
        let (code, out, err) = cosign(
            &t,
            stack,
            dir,
            &["verify", &format!("{repo_ref}@{digest}")],
            None,
        );
        assert_eq!(code, 0, "cosign3 verify {digest}: {out}{err}");
    }
    // wasipack verify of the tag (the index), choosing the wasip2 entry.
    let (code, out, err) = wasipack_verify_keyless(
        stack,
        &format!("{repo_ref}:v1"),
        &["--platform", "wasip2", "--require-attestation", "spdx,slsa"],
        dir,
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("ok   signature"), "{out}");
}

#[test]
fn push_sbom_without_a_signer_is_refused_in_one_line_before_anything_is_pushed() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let module = dir.join("m.wasm");
    std::fs::write(&module, b"\0asm\x01\0\0\0").unwrap();
    let layout = format!("oci-layout:{}:x", s(&dir.join("oci")));
    for choice in ["spdx", "cyclonedx", "none"] {
        let (code, out, err) = wp(&["push", &s(&module), &layout, "--sbom", choice], dir);
        assert_clean_error(code, &out, &err, choice);
        assert!(
            err.contains("push --sbom chooses the SBOM to attest, which needs --key or --keyless"),
            "{err}"
        );
        assert!(!dir.join("oci").exists(), "{choice}: something was pushed");
    }
    // Without --sbom, an unsigned push goes on as before (the SBOM referrers, unsigned).
    let (code, out, err) = wp(&["push", &s(&module), &layout], dir);
    assert_eq!(code, 0, "{out}{err}");
}

/// A blob signed by a leaf of a CA of the test's own ([`TestCa`]) whose validity is `start` to
/// `end`, its bundle (with a timestamp of the local TSA over the signature when `timestamped`),
/// and `wasipack verify` of it against a trusted root listing that CA, with the leaf's own
/// identity and issuer expected: (exit code, stdout, stderr, and cosign v3's exit code over
/// the same files).
fn verify_test_ca_leaf(
    t: &Tools,
    start: &str,
    end: &str,
    timestamped: bool,
) -> (i32, String, String, i32) {
    let stack: &Stack = t.sigstore_stack();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let ca = TestCa::new(dir);
    let leaf = ca.leaf("leaf", start, end);
    let file = blob(dir, "f.txt", "signed by a test CA's leaf\n");
    let bundle = ca.bundle(stack, &leaf, &file, timestamped);
    let root = ca.trusted_root(stack);
    let expect = [
        "--certificate-identity",
        test_ca::IDENTITY,
        "--certificate-oidc-issuer",
        test_ca::ISSUER,
    ];
    let (code, out, err) = wasipack_verify_blob(stack, &file, &bundle, &expect, &root);
    let (cosign, _, _) = t.run(
        "cosign3",
        &[
            "verify-blob",
            "--bundle",
            &s(&bundle),
            "--trusted-root",
            &s(&root),
            "--certificate-identity",
            test_ca::IDENTITY,
            "--certificate-oidc-issuer",
            test_ca::ISSUER,
            "--insecure-ignore-sct",
            &s(&file),
        ],
        dir,
    );
    (code, out, err, cosign)
}

/// `now` plus `seconds`, as `openssl ca -startdate/-enddate` take it.
fn openssl_time(seconds: i64) -> String {
    let t = time::OffsetDateTime::now_utc() + time::Duration::seconds(seconds);
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}Z",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// The test CA, its identity and the log entry are sound: a leaf valid now, timestamped,
/// verifies in wasipack and in cosign. What the tests below refuse is the window alone.
fn a_test_ca_leaf_valid_now_verifies(t: &Tools) {
    let (code, out, err, cosign) =
        verify_test_ca_leaf(t, &openssl_time(-60), &openssl_time(600), true);
    assert_eq!(code, 0, "a leaf valid now: {out}{err}");
    assert!(
        out.contains(&format!("signed by {}", test_ca::IDENTITY)),
        "{out}"
    );
    assert_eq!(cosign, 0, "cosign3 refused a leaf valid now");
}

#[test]
fn a_certificate_outside_its_validity_with_no_timestamp_is_refused_in_one_line_naming_its_window() {
    let t = common::require!("sigstore", "cosign3");
    a_test_ca_leaf_valid_now_verifies(&t);
    // Valid for ten minutes in 2021, logged in Rekor v2 today (no integrated time), and no
    // RFC 3161 timestamp: nothing says when it was signed.
    let (code, out, err, cosign) =
        verify_test_ca_leaf(&t, "20210101000000Z", "20210101001000Z", false);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.is_empty(), "{err}");
    assert!(
        fail_line(&out).ends_with(
            "no verified timestamp places the signature inside its certificate's validity, \
             2021-01-01T00:00:00Z to 2021-01-01T00:10:00Z: the bundle has no RFC 3161 timestamp \
             from a trusted timestamp authority and no log entry with a signed integrated time \
             (a Rekor v2 entry has none)"
        ),
        "{out}"
    );
    assert_ne!(
        cosign, 0,
        "cosign3 accepted a certificate with no timestamp"
    );
}

#[test]
fn a_timestamp_outside_the_certificates_validity_is_refused_in_one_line_naming_the_time_and_the_window(
) {
    let t = common::require!("sigstore", "cosign3");
    a_test_ca_leaf_valid_now_verifies(&t);
    // A real timestamp of the local TSA (now), over the signature of a leaf that expired in
    // 2021, and of one that becomes valid only in 2099.
    for (start, end, window) in [
        (
            "20210101000000Z",
            "20210101001000Z",
            "2021-01-01T00:00:00Z to 2021-01-01T00:10:00Z",
        ),
        (
            "20990101000000Z",
            "20990101001000Z",
            "2099-01-01T00:00:00Z to 2099-01-01T00:10:00Z",
        ),
    ] {
        let before = time::OffsetDateTime::now_utc().year();
        let (code, out, err, cosign) = verify_test_ca_leaf(&t, start, end, true);
        assert_eq!(code, 1, "{window}: {out}{err}");
        assert!(err.is_empty(), "{err}");
        let line = fail_line(&out);
        let (_, said) = line
            .split_once(": the signing time ")
            .unwrap_or_else(|| panic!("{window}: {line}"));
        let (time, rest) = said.split_once(' ').unwrap();
        assert!(
            time.starts_with(&format!("{before}-")) && time.ends_with('Z'),
            "{window}: the timestamp's time (now): {line}"
        );
        assert_eq!(
            rest,
            format!(
                "that the timestamp authority vouched for lies outside its certificate's validity, {window}"
            ),
            "{line}"
        );
        assert_ne!(cosign, 0, "cosign3 accepted a timestamp outside {window}");
    }
}

/// An attacker's view of a referrers registry: list, fetch, attach and delete Sigstore bundle
/// referrers with crane, oras and the referrers API, as anyone with push access could.
struct Attacker<'a> {
    t: &'a Tools,
    host: String,
    repo: String,
    dir: &'a Path,
}

impl Attacker<'_> {
    /// The referrers of `subject` (a digest): (referrer digest, its predicate type annotation).
    fn referrers(&self, subject: &str) -> Vec<(String, String)> {
        let out = Command::new("curl")
            .arg("-fsS")
            .arg(format!(
                "http://{}/v2/{}/referrers/{subject}",
                self.host, self.repo
            ))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let index: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        index["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["digest"].as_str().unwrap().to_string(),
                    m["annotations"]["dev.sigstore.bundle.predicateType"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                )
            })
            .collect()
    }

    /// The referrer of `subject` for `predicate_type` (there must be exactly one).
    fn referrer(&self, subject: &str, predicate_type: &str) -> String {
        let found: Vec<String> = self
            .referrers(subject)
            .into_iter()
            .filter(|(_, p)| p == predicate_type)
            .map(|(d, _)| d)
            .collect();
        assert_eq!(found.len(), 1, "{subject}: {predicate_type}: {found:?}");
        found[0].clone()
    }

    fn at(&self, digest: &str) -> String {
        format!("{}/{}@{digest}", self.host, self.repo)
    }

    /// The bundle (the one layer) of a referrer manifest, written to `dir/name`.
    fn bundle(&self, referrer: &str, name: &str) -> PathBuf {
        let (code, manifest, err) =
            self.t
                .run("crane", &["manifest", &self.at(referrer)], self.dir);
        assert_eq!(code, 0, "{err}");
        let manifest: serde_json::Value = serde_json::from_str(&manifest).unwrap();
        let layer = manifest["layers"][0]["digest"].as_str().unwrap();
        let (code, bytes, err) = self.t.run("crane", &["blob", &self.at(layer)], self.dir);
        assert_eq!(code, 0, "{err}");
        let path = self.dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// Attaches the bundle file `name` (in `dir`) to `subject` as cosign v3 does, and returns
    /// the new referrer's digest.
    fn attach(&self, subject: &str, name: &str, predicate_type: &str) -> String {
        let before = self.referrers(subject);
        let (code, out, err) = self.t.run(
            "oras",
            &[
                "attach",
                "--plain-http",
                "--artifact-type",
                BUNDLE_TYPE,
                "--annotation",
                "dev.sigstore.bundle.content=dsse-envelope",
                "--annotation",
                &format!("dev.sigstore.bundle.predicateType={predicate_type}"),
                &self.at(subject),
                &format!("{name}:{BUNDLE_TYPE}"),
            ],
            self.dir,
        );
        assert_eq!(code, 0, "oras attach: {out}{err}");
        let after = self.referrers(subject);
        let new: Vec<&(String, String)> = after.iter().filter(|r| !before.contains(r)).collect();
        assert_eq!(new.len(), 1, "{before:?} -> {after:?}");
        new[0].0.clone()
    }

    fn delete(&self, referrer: &str) {
        let (code, out, err) = self
            .t
            .run("crane", &["delete", &self.at(referrer)], self.dir);
        assert_eq!(code, 0, "crane delete: {out}{err}");
    }
}

const BUNDLE_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
const COSIGN_SIGN: &str = "https://sigstore.dev/cosign/sign/v1";
const SPDX: &str = "https://spdx.dev/Document";

#[test]
fn tampered_bundle_referrers_of_a_keyless_push_are_refused_naming_the_referrer_and_the_check_and_a_valid_one_beside_them_still_verifies(
) {
    let t = common::require!("sigstore", "cosign3", "go", "crane", "oras");
    let stack: &Stack = t.sigstore_stack();
    let registry = t.referrers_registry();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let module = t.go_fixture("hello");
    // Two artifacts (their creation times differ), each pushed keyless: a signature and the
    // SPDX and SLSA provenance attestations, as bundle referrers.
    let push = |epoch: &str| {
        let mut cmd = wasipack();
        clean(&mut cmd)
            .args([
                "push",
                &s(&module),
                &format!("{}/keyless/tamper:{epoch}", registry.host()),
                "--keyless",
                "--signing-config",
                &s(&stack.signing_config()),
                "--json",
            ])
            .env("SOURCE_DATE_EPOCH", epoch)
            .envs(stack.actions_env())
            .current_dir(dir);
        let (code, out, err) = decode(cmd.output().unwrap());
        assert_eq!(code, 0, "{out}{err}");
        common::pushed_with_three_bundle_referrers(&out).0
    };
    let (ours, other) = (push("1700000000"), push("1700000001"));
    let digest = |r: &str| r.rsplit_once('@').unwrap().1.to_string();
    let (a, b) = (digest(&ours), digest(&other));
    assert_ne!(a, b);
    let attacker = Attacker {
        t: &t,
        host: registry.host(),
        repo: "keyless/tamper".into(),
        dir,
    };
    let verify = |extra: &[&str]| wasipack_verify_keyless(stack, &ours, extra, dir);
    let (code, out, err) = verify(&["--require-attestation", "spdx"]);
    assert_eq!(code, 0, "{out}{err}");
    let our_signature = attacker.referrer(&a, COSIGN_SIGN);
    let our_bundle = attacker.bundle(&our_signature, "ours.sigstore.json");
    attacker.bundle(&attacker.referrer(&b, COSIGN_SIGN), "other.sigstore.json");
    attacker.bundle(&attacker.referrer(&b, SPDX), "other-spdx.sigstore.json");
    common::sigstore::with_inclusion_hash_altered(&our_bundle, dir.join("altered.sigstore.json"));

    // Beside our valid signature, another artifact's: any valid signature passes (as cosign
    // decides), and the step names the referrer that did.
    let borrowed = attacker.attach(&a, "other.sigstore.json", COSIGN_SIGN);
    let (code, out, err) = verify(&[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!(
            "ok   signature                Sigstore bundle {our_signature} verifies"
        )),
        "{out}"
    );
    let (code, out, err) = cosign(&t, stack, dir, &["verify", &ours], None);
    assert_eq!(code, 0, "cosign3 with a valid signature beside: {out}{err}");

    // cosign v3's `verify` takes any valid bundle about the image for a signature, the
    // attestations' too (observed with v3.1.x), so they go first: cosign then judges the
    // signature alone. wasipack's signature step reads cosign's signature predicate only.
    attacker.delete(&attacker.referrer(&a, SPDX));
    attacker.delete(&attacker.referrer(&a, "https://slsa.dev/provenance/v1"));
    let (code, out, err) = verify(&[]);
    assert_eq!(code, 0, "{out}{err}");

    // The signature step fails in one line (starting `says`), and cosign v3 refuses too.
    let refused = |says: String, what: &str| {
        let (code, out, err) = verify(&[]);
        assert_eq!(code, 1, "{what}: {out}{err}");
        let line = fail_line(&out);
        assert!(
            line.starts_with(&format!("FAIL signature                {says}")),
            "{what}: {line}"
        );
        let (code, _, _) = cosign(&t, stack, dir, &["verify", &ours], None);
        assert_ne!(code, 0, "cosign3 accepted {what}");
    };

    // (a) Ours replaced by the other artifact's: the one line names the referrer and that its
    // statement is about another artifact.
    attacker.delete(&our_signature);
    refused(
        format!("no valid signature: bundle {borrowed}: its statement's subject is {b}, not this artifact ({a})"),
        "another artifact's signature",
    );

    // (b) Our own bundle with one inclusion-path hash altered.
    attacker.delete(&borrowed);
    let altered = attacker.attach(&a, "altered.sigstore.json", COSIGN_SIGN);
    refused(
        format!("no valid signature: bundle {altered}: invalid inclusion proof"),
        "an altered inclusion proof",
    );

    // (c) Our SPDX attestation replaced by the other artifact's (a valid signature again).
    attacker.delete(&altered);
    attacker.attach(&a, "ours.sigstore.json", COSIGN_SIGN);
    let other_spdx = attacker.attach(&a, "other-spdx.sigstore.json", SPDX);
    let (code, out, err) = verify(&["--require-attestation", "spdx"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("ok   signature"), "{out}");
    let line = fail_line(&out);
    assert!(
        line.starts_with(&format!(
            "FAIL attestation spdx         no valid {SPDX} attestation: bundle {other_spdx}: its statement's subject is {b}, not this artifact ({a})"
        )),
        "{line}"
    );
    let (code, _, _) = cosign(
        &t,
        stack,
        dir,
        &["verify-attestation", "--type", "spdxjson", &ours],
        None,
    );
    assert_ne!(code, 0, "cosign3 accepted another artifact's attestation");
}

/// `sign-blob --keyless --bundle` with the signing config `config`: it must fail in one line
/// (exit 2) and leave no bundle file; returns that line.
fn sign_blob_keyless_fails(stack: &Stack, config: &str, dir: &Path) -> String {
    let file = blob(dir, "f.txt", "refused\n");
    let bundle = dir.join("f.sigstore.json");
    let (code, out, err) = wp(
        &[
            "sign-blob",
            &s(&file),
            "--keyless",
            "--identity-token",
            &stack.token(),
            "--signing-config",
            config,
            "--bundle",
            &s(&bundle),
        ],
        dir,
    );
    assert_clean_error(code, &out, &err, config);
    assert!(!bundle.exists(), "a bundle was written: {err}");
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("sigstore") || n.starts_with(".wasipack-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    err.trim_end().to_string()
}

/// `sign-blob --keyless` in `work/name` with the stack's signing config but for the log's and
/// the TSA's URL (when given): one line that starts with `says`, and ends with ` (tried 3
/// times)` exactly when `tried`.
fn each_fails_in_one_line(
    stack: &Stack,
    work: &Path,
    name: &str,
    log: Option<&str>,
    tsa: Option<&str>,
    says: &str,
    tried: bool,
) {
    let dir = work.join(name);
    std::fs::create_dir(&dir).unwrap();
    let config = stack.signing_config_with(log, tsa, &dir.join("signing_config.json"));
    let line = sign_blob_keyless_fails(stack, &config, &dir);
    assert!(line.starts_with(says), "{name}: {line}");
    assert_eq!(line.ends_with(" (tried 3 times)"), tried, "{name}: {line}");
}

/// The local stack's service URLs, and ones that refuse: (TSA endpoint, TSA base, Rekor,
/// OIDC issuer, a loopback port nothing listens on).
fn service_urls(stack: &Stack) -> (String, String, String, String, String) {
    let tsa = stack.url("TSA_URL");
    let tsa_base = tsa.trim_end_matches("/api/v1/timestamp").to_string();
    let nothing = format!("http://127.0.0.1:{}", common::servers::free_port());
    (
        tsa,
        tsa_base,
        stack.url("REKOR_URL"),
        stack.url("OIDC_URL"),
        nothing,
    )
}

#[test]
fn sign_blob_keyless_names_a_log_or_timestamp_authority_that_refuses_or_answers_garbage_in_one_line_and_writes_no_bundle(
) {
    let t = common::require!("sigstore");
    let stack: &Stack = t.sigstore_stack();
    let work = tempfile::tempdir().unwrap();
    let (_, tsa_base, rekor, oidc, _) = service_urls(stack);
    let garbage = format!("{oidc}/github/.well-known/openid-configuration");
    let wrong_tsa = format!("{rekor}/api/v1/timestamp");
    for (name, log, tsa, says) in [
        // The TSA's server has no Rekor API: a 404 with its own message.
        (
            "log-refuses",
            Some(tsa_base.as_str()),
            None,
            format!(
                "error: keyless signing failed: the transparency log {tsa_base} answered HTTP 404: failed to create entry: {{\"code\":404,\"message\":\"path /api/v2/log/entries was not found\"}}"
            ),
        ),
        // Rekor has no timestamp endpoint.
        (
            "tsa-refuses",
            None,
            Some(wrong_tsa.as_str()),
            format!(
                "error: keyless signing failed: the timestamp authority {wrong_tsa} answered HTTP 404: {{\"code\":5, \"message\":\"Not Found\", \"details\":[]}}"
            ),
        ),
        // The OIDC issuer's discovery document: 200, JSON, not a timestamp response.
        (
            "tsa-garbage",
            None,
            Some(garbage.as_str()),
            format!(
                "error: keyless signing failed: the timestamp authority {garbage} answered what is not its API: "
            ),
        ),
    ] {
        each_fails_in_one_line(stack, work.path(), name, log, tsa, &says, false);
    }
}

#[test]
fn sign_blob_keyless_tries_an_unreachable_or_failing_service_three_times_then_names_it_in_one_line()
{
    let t = common::require!("sigstore");
    let stack: &Stack = t.sigstore_stack();
    let work = tempfile::tempdir().unwrap();
    let (_, _, rekor, _, nothing) = service_urls(stack);
    let stopped_tsa = format!("{nothing}/api/v1/timestamp");
    let failing_tsa = format!("{rekor}/healthz");
    for (name, log, tsa, says) in [
        (
            "log-stopped",
            Some(nothing.as_str()),
            None,
            format!("error: keyless signing failed: the transparency log {nothing} could not be reached: "),
        ),
        (
            "tsa-stopped",
            None,
            Some(stopped_tsa.as_str()),
            format!(
                "error: keyless signing failed: the timestamp authority {stopped_tsa} could not be reached: "
            ),
        ),
        // Rekor answers a POST to its health check 501: a server error, tried again.
        (
            "tsa-5xx",
            None,
            Some(failing_tsa.as_str()),
            format!("error: keyless signing failed: the timestamp authority {failing_tsa} answered HTTP 501: "),
        ),
    ] {
        each_fails_in_one_line(stack, work.path(), name, log, tsa, &says, true);
    }
}

/// The log's answer altered on its way (a byte flipped in the middle of each answer, by a
/// proxy in front of the real Rekor): `sign-blob --keyless` fails in one line and writes no
/// bundle, whether the flip breaks the answer's JSON or only what it proves (which the check
/// against `--trusted-root` catches).
#[test]
fn a_log_answer_altered_in_transit_fails_in_one_line_and_writes_no_bundle() {
    let t = common::require!("sigstore");
    let stack: &Stack = t.sigstore_stack();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let upstream: std::net::SocketAddr = stack
        .url("REKOR_URL")
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let proxy = common::proxy::Proxy::start(upstream);
    proxy.inject(common::proxy::Fault {
        method: "POST",
        path_contains: "/api/v2/log/entries".into(),
        action: common::proxy::Action::CorruptResponseBody,
        times: 10,
    });
    let log = format!("http://{}", proxy.host());
    let config = stack.signing_config_with(Some(&log), None, &dir.join("signing_config.json"));
    let file = blob(dir, "f.txt", "altered on its way\n");
    let bundle = dir.join("f.sigstore.json");
    let mut cmd = wasipack();
    clean(&mut cmd)
        .args(["sign-blob", &s(&file), "--keyless", "--identity-token"])
        .arg(stack.token())
        .args(["--signing-config", &config, "--trusted-root"])
        .arg(stack.trusted_root())
        .arg("--bundle")
        .arg(&bundle)
        .current_dir(dir);
    let (code, out, err) = decode(cmd.output().unwrap());
    assert_clean_error(
        code,
        &out,
        &err,
        "sign-blob --keyless, an altered log answer",
    );
    assert!(
        err.starts_with(&format!(
            "error: keyless signing failed: the transparency log {log} answered what is not its API: "
        )) || err.starts_with("error: keyless signing failed: the bundle made does not verify against "),
        "{err}"
    );
    assert!(!bundle.exists(), "no bundle is written");
    assert!(
        proxy.log().iter().any(|l| l.method == "POST"),
        "the log was asked through the proxy"
    );
}

#[test]
fn a_timestamp_authority_that_answers_503_once_is_asked_again_and_the_bundle_verifies() {
    let t = common::require!("sigstore", "cosign3");
    let stack: &Stack = t.sigstore_stack();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let tsa = stack.url("TSA_URL");
    let upstream: std::net::SocketAddr = tsa
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let proxy = common::proxy::Proxy::start(upstream);
    proxy.inject(common::proxy::Fault {
        method: "POST",
        path_contains: "/api/v1/timestamp".into(),
        action: common::proxy::Action::Status(503, None),
        times: 1,
    });
    let config = stack.signing_config_with(
        None,
        Some(&format!("http://{}/api/v1/timestamp", proxy.host())),
        &dir.join("signing_config.json"),
    );
    let file = blob(dir, "f.txt", "timestamped on the second try\n");
    let bundle = dir.join("f.sigstore.json");
    let (code, out, err) = wp(
        &[
            "sign-blob",
            &s(&file),
            "--keyless",
            "--identity-token",
            &stack.token(),
            "--signing-config",
            &config,
            "--bundle",
            &s(&bundle),
        ],
        dir,
    );
    assert_eq!(code, 0, "{out}{err}");
    let statuses: Vec<u16> = proxy
        .log()
        .iter()
        .filter(|l| l.method == "POST")
        .map(|l| l.status)
        .collect();
    // The 503, wasipack's own query to learn what the TSA answers (sigstore-tsa keeps no
    // status: see keyless.rs), which it now answers, and the signing tried again.
    assert_eq!(statuses, [503, 200, 200], "{:?}", proxy.log());
    let (identity, issuer) = (stack.identity(), stack.issuer());
    let expect = [
        "--certificate-identity",
        identity.as_str(),
        "--certificate-oidc-issuer",
        issuer.as_str(),
    ];
    let (code, out, err) =
        wasipack_verify_blob(stack, &file, &bundle, &expect, &stack.trusted_root());
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = cosign_verify_blob(&t, stack, &file, &bundle, &identity, &issuer);
    assert_eq!(code, 0, "{out}{err}");
}

/// cosign checks what it signed against `--trusted-root` before it writes; so does wasipack.
/// A trust root that does not name the instance's log (a signing config and a trust root of
/// two instances mixed up) fails `sign-blob` and `push --keyless` in one line naming the root
/// and the entry, with no bundle written, no tag and no referrer; the right root passes.
#[test]
fn keyless_signing_checks_each_bundle_against_the_trusted_root_before_writing_anything() {
    let t = common::require!("sigstore", "go");
    let stack: &Stack = t.sigstore_stack();
    let registry = t.referrers_registry();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let no_log = stack.trusted_root_without("tlogs", &dir.join("no-log.json"));
    let says = format!(
        "error: keyless signing failed: the bundle made does not verify against {}: ",
        no_log.display()
    );

    let file = blob(dir, "f.txt", "checked before it is written\n");
    let bundle = dir.join("f.sigstore.json");
    let sign_blob = |root: &Path| {
        let mut cmd = wasipack();
        clean(&mut cmd)
            .args(["sign-blob", &s(&file), "--keyless", "--identity-token"])
            .arg(stack.token())
            .args([
                "--signing-config",
                &s(&stack.signing_config()),
                "--trusted-root",
            ])
            .arg(root)
            .arg("--bundle")
            .arg(&bundle)
            .current_dir(dir);
        decode(cmd.output().unwrap())
    };
    let (code, out, err) = sign_blob(&no_log);
    assert_clean_error(
        code,
        &out,
        &err,
        "sign-blob --keyless, a root without the log",
    );
    assert!(err.starts_with(&says), "{err}");
    assert!(
        err.contains(&format!("the entry is in the log `{}`", stack.log_origin()))
            && err.trim_end().ends_with("the trust root names no log"),
        "the line names the log that is not trusted: {err}"
    );
    assert!(!bundle.exists(), "no bundle is written");
    let (code, out, err) = sign_blob(&stack.trusted_root());
    assert_eq!(code, 0, "{out}{err}");
    assert!(bundle.exists());

    let module = t.go_fixture("hello");
    let reference = format!("{}/keyless/unchecked:1", registry.host());
    let mut cmd = wasipack();
    clean(&mut cmd)
        .args(["push", &s(&module), &reference, "--keyless"])
        .args([
            "--signing-config",
            &s(&stack.signing_config()),
            "--trusted-root",
        ])
        .arg(&no_log)
        .envs(stack.actions_env())
        .current_dir(dir);
    let (code, out, err) = decode(cmd.output().unwrap());
    assert_clean_error(code, &out, &err, "push --keyless, a root without the log");
    assert!(err.starts_with(&says), "{err}");
    nothing_was_pushed(&t, &registry.host(), "keyless/unchecked", &module, dir);
}

#[test]
fn push_keyless_to_a_log_that_refuses_fails_in_one_line_and_leaves_no_tag_and_no_referrer() {
    let t = common::require!("sigstore", "go");
    let stack: &Stack = t.sigstore_stack();
    let registry = t.referrers_registry();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let module = t.go_fixture("hello");
    let (_, tsa_base, _, _, _) = service_urls(stack);
    let config = stack.signing_config_with(Some(&tsa_base), None, &dir.join("signing_config.json"));
    let reference = format!("{}/keyless/refused:1", registry.host());
    let mut cmd = wasipack();
    clean(&mut cmd)
        .args([
            "push",
            &s(&module),
            &reference,
            "--keyless",
            "--signing-config",
            &config,
        ])
        .envs(stack.actions_env())
        .current_dir(dir);
    let (code, out, err) = decode(cmd.output().unwrap());
    assert_clean_error(code, &out, &err, "push --keyless, the log refuses");
    assert!(
        err.starts_with(&format!(
            "error: keyless signing failed: the transparency log {tsa_base} answered HTTP 404: "
        )),
        "{err}"
    );
    nothing_was_pushed(&t, &registry.host(), "keyless/refused", &module, dir);
}

/// After a `push --keyless` of `module` to `host/repo:1` that failed: no tag in the repository,
/// and the same artifact pushed unsigned has no referrer of the failed push.
fn nothing_was_pushed(t: &Tools, host: &str, repo: &str, module: &Path, dir: &Path) {
    let tags = Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "-w", "%{http_code}"])
        .arg(format!("http://{host}/v2/{repo}/tags/list"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&tags.stdout),
        "404",
        "no tag was pushed"
    );
    let (code, out, err) = wp(&["push", &s(module), &format!("{host}/{repo}:1")], dir);
    assert_eq!(code, 0, "{out}{err}");
    let digest = out.trim().rsplit_once('@').unwrap().1.to_string();
    let registry_view = Attacker {
        t,
        host: host.to_string(),
        repo: repo.into(),
        dir,
    };
    assert_eq!(
        registry_view.referrers(&digest),
        [],
        "no referrer was pushed"
    );
}

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

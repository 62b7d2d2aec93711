//! Test tiers: what a test needs beyond the Rust toolchain, checked once at its start.
//!
//! A test that runs an external program starts with
//!
//! ```ignore
//! let t = common::require!("go", "crane", "oras");
//! ```
//!
//! (`common::require!("go");` where the test only runs wasipack, which runs Go) and reaches each
//! program only through `t` (`t.path`, `t.command`, `t.run`, `t.go_fixture`, `t.venv_python`,
//! `t.crane_registry`, ...), which panics on a name the test did not require, so a missing
//! declaration shows up on the first run with the tools installed. When something is missing,
//! the macro writes one line on stderr (past the test harness's capture), such as
//!
//! ```text
//! skipped: go_fixtures_agree: needs .tools/bin/wasm-tools (bash scripts/install-tools.sh); go on PATH (Go 1.25 or newer, https://go.dev/dl/)
//! ```
//!
//! and returns from the test, which counts as passed (`tiers::require`, the function behind the
//! macro, returns `Option<Tools>` instead). With `WASIPACK_REQUIRE_ALL_TIERS=1` (set by
//! scripts/test.sh) it panics instead: the full suite must not skip. TinyGo is the one exception,
//! skipped even then, because scripts/install-tools.sh cannot install it.
//!
//! The names `require` takes:
//! - `go`: `go` on PATH, for `wasipack build`, the Go fixtures (testdata/go) and the programs
//!   of testdata/ that tests build; with `flock` on PATH, which keeps concurrent test binaries
//!   from building the fixtures at once;
//! - `wazero`, `wasm-tools`, `crane`, `oras`, `cosign2`, `cosign3`, `docker-registry`,
//!   `htpasswd`, `actionlint`, `wasmtime-cli` (the wasmtime command line): the pinned tools in
//!   `.tools/bin` (scripts/install-tools.sh);
//! - `venv`: `.tools/venv`, the Python with the official SBOM validators (same script; the
//!   handle's `path("venv")` is its python);
//! - `wasmtime`: PyPI's `wasmtime` (the component API) in `.tools/venv` (same script; the
//!   handle's `path("wasmtime")` is the venv's python), the host that runs components;
//! - `skopeo`, `shellcheck`: on PATH (the same script installs them with apt-get);
//! - `tinygo`: `tinygo` on PATH;
//! - `goproxy`: `.tools/goproxy`, a file:// Go module proxy holding one Go release other than
//!   the local one as the toolchain module, with the checksum database's proof of it (same
//!   script); the handle's `path("goproxy")` is the directory, whose `release` file names it;
//! - `sigstore`: the local Sigstore instance of scripts/sigstore-stack.sh (`fulcio`,
//!   `rekor-server-posix`, `timestamp-server` and `cosign3` in `.tools/bin`, `go` for its OIDC
//!   issuer, `openssl` and `curl`); `t.sigstore_stack()` starts one (common/sigstore.rs).

use super::repo;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Set to `1` to turn every skip (TinyGo's aside) into a failure.
pub const REQUIRE_ALL: &str = "WASIPACK_REQUIRE_ALL_TIERS";

const INSTALL: &str = "bash scripts/install-tools.sh";

/// The pinned tools of `.tools/bin`.
const PINNED: &[&str] = &[
    "wazero",
    "wasm-tools",
    "crane",
    "oras",
    "cosign2",
    "cosign3",
    "docker-registry",
    "htpasswd",
    "actionlint",
    "fulcio",
    "rekor-server-posix",
    "timestamp-server",
    "wasmtime-cli",
];

/// One thing that is missing: what, and how to get it.
struct Missing {
    what: String,
    how: &'static str,
}

/// Where `name` is, or what is missing for it. Panics on a name this module does not know.
fn locate(name: &str) -> Result<PathBuf, Vec<Missing>> {
    let on_path = |program: &str, how: &'static str| {
        find_on_path(program).ok_or_else(|| Missing {
            what: format!("{program} on PATH"),
            how,
        })
    };
    let in_repo = |relative: String| {
        let path = repo().join(&relative);
        if path.is_file() {
            Ok(path)
        } else {
            Err(Missing {
                what: relative,
                how: INSTALL,
            })
        }
    };
    match name {
        "go" => {
            let go = on_path("go", "Go 1.25 or newer, https://go.dev/dl/");
            let flock = on_path("flock", "util-linux");
            match (go, flock) {
                (Ok(go), Ok(_)) => Ok(go),
                (go, flock) => Err([go.err(), flock.err()].into_iter().flatten().collect()),
            }
        }
        "git" => on_path("git", "git, from your package manager").map_err(|m| vec![m]),
        "venv" => in_repo(".tools/venv/bin/python".into()).map_err(|mut m| {
            m.what = ".tools/venv".into();
            vec![m]
        }),
        "wasmtime" => {
            let python = in_repo(".tools/venv/bin/python".into()).map_err(|m| vec![m])?;
            let installed = std::fs::read_dir(repo().join(".tools/venv/lib"))
                .into_iter()
                .flatten()
                .flatten()
                .any(|d| d.path().join("site-packages/wasmtime/__init__.py").is_file());
            if installed {
                Ok(python)
            } else {
                Err(vec![Missing {
                    what: "wasmtime in .tools/venv".into(),
                    how: INSTALL,
                }])
            }
        }
        "skopeo" | "shellcheck" => on_path(
            name,
            "scripts/install-tools.sh installs it with apt-get",
        )
        .map_err(|m| vec![m]),
        "tinygo" => on_path(
            "tinygo",
            "https://tinygo.org/getting-started/install/; scripts/install-tools.sh does not install it",
        )
        .map_err(|m| vec![m]),
        "goproxy" => in_repo(".tools/goproxy/release".into())
            .map(|release| release.parent().unwrap().to_path_buf())
            .map_err(|mut m| {
                m.what = ".tools/goproxy".into();
                vec![m]
            }),
        "sigstore" => {
            let mut missing = Vec::new();
            for tool in ["fulcio", "rekor-server-posix", "timestamp-server", "cosign3"] {
                if let Err(m) = in_repo(format!(".tools/bin/{tool}")) {
                    missing.push(m);
                }
            }
            for program in ["go", "openssl", "curl"] {
                if let Err(m) = on_path(program, "the Debian package of the same name (go: https://go.dev/dl/)") {
                    missing.push(m);
                }
            }
            if missing.is_empty() {
                Ok(repo().join("scripts/sigstore-stack.sh"))
            } else {
                Err(missing)
            }
        }
        pinned if PINNED.contains(&pinned) => {
            in_repo(format!(".tools/bin/{pinned}")).map_err(|m| vec![m])
        }
        other => panic!(
            "common::require: unknown need `{other}` (known: go, git, venv, wasmtime, skopeo, shellcheck, tinygo, goproxy, sigstore, {})",
            PINNED.join(", ")
        ),
    }
}

/// The first executable file called `program` in PATH.
fn find_on_path(program: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// The running test's name (libtest names each test's thread after it).
fn test_name() -> String {
    std::thread::current()
        .name()
        .filter(|n| *n != "main")
        .unwrap_or("a test")
        .to_string()
}

/// "X (how); Y, Z (how)": the missing things, grouped by how to get them.
fn describe(missing: &[Missing]) -> String {
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for m in missing {
        match groups.iter_mut().find(|(how, _)| *how == m.how) {
            Some((_, whats)) => whats.push(&m.what),
            None => groups.push((m.how, vec![&m.what])),
        }
    }
    groups
        .iter()
        .map(|(how, whats)| format!("{} ({how})", whats.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Checks everything in `needs` (names listed in the module docs). All there: the handle through
/// which the test reaches them. Something missing: one `skipped: ...` line on stderr and
/// `None`, or a panic when `WASIPACK_REQUIRE_ALL_TIERS=1` and the missing part is not TinyGo.
pub fn require(needs: &[&'static str]) -> Option<Tools> {
    match check(needs) {
        Ok(tools) => Some(tools),
        Err((missing, exempt)) => {
            let line = format!("{}: needs {}", test_name(), describe(&missing));
            if !exempt && std::env::var_os(REQUIRE_ALL).is_some_and(|v| v == "1") {
                panic!("required tier missing ({REQUIRE_ALL}=1): {line}");
            }
            // Straight to the process's stderr, as one write so that it stays one line among
            // the harness's own: libtest captures `eprintln!` of passing tests.
            let _ = std::io::stderr().write_all(format!("skipped: {line}\n").as_bytes());
            None
        }
    }
}

/// `Ok(tools)`, or what is missing and whether only exempt (TinyGo) needs are.
fn check(needs: &[&'static str]) -> Result<Tools, (Vec<Missing>, bool)> {
    let mut paths = Vec::new();
    let mut missing = Vec::new();
    let mut exempt = true;
    for &name in needs {
        match locate(name) {
            Ok(path) => paths.push((name, path)),
            Err(m) => {
                exempt &= name == "tinygo";
                missing.extend(m);
            }
        }
    }
    if missing.is_empty() {
        Ok(Tools { paths })
    } else {
        Err((missing, exempt))
    }
}

/// For code that has no test to skip (kept for callers not yet moved to `require`): the tools,
/// or a panic naming what is missing.
pub fn require_or_panic(needs: &[&'static str]) -> Tools {
    check(needs)
        .unwrap_or_else(|(missing, _)| panic!("{}: needs {}", test_name(), describe(&missing)))
}

/// What one test required, all present. The only way tests reach external programs.
#[derive(Clone, Debug)]
pub struct Tools {
    paths: Vec<(&'static str, PathBuf)>,
}

impl Tools {
    /// The program `name`: a pinned tool, `go`, `skopeo` or `tinygo` as found on PATH, or for
    /// `venv` the venv's python.
    pub fn path(&self, name: &str) -> PathBuf {
        self.paths
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, p)| p.clone())
            .unwrap_or_else(|| {
                panic!(
                    "{} uses `{name}` without requiring it: add it to its common::require list",
                    test_name()
                )
            })
    }

    pub fn has(&self, name: &str) -> bool {
        self.paths.iter().any(|(n, _)| *n == name)
    }

    /// A command for the program `name`.
    pub fn command(&self, name: &str) -> Command {
        Command::new(self.path(name))
    }

    /// A command for the cosign binary `name` (`cosign2`, `cosign3`) that reaches nothing of the
    /// public instance: its TUF cache and docker config in `dir` (where it runs), stdin closed.
    pub fn offline_cosign(&self, name: &str, dir: &Path) -> Command {
        let mut cmd = self.command(name);
        cmd.current_dir(dir)
            .env("DOCKER_CONFIG", dir.join("docker"))
            .env("TUF_ROOT", dir.join("tuf"))
            .stdin(std::process::Stdio::null());
        cmd
    }

    /// Runs the program `name` in `dir`; returns (exit code, stdout, stderr).
    pub fn run(&self, name: &str, args: &[&str], dir: &Path) -> (i32, String, String) {
        let out = self
            .command(name)
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        super::decode(out)
    }

    /// The Python of `.tools/venv`, which has the official SBOM validators.
    pub fn venv_python(&self) -> PathBuf {
        self.path("venv")
    }

    /// A Go fixture, `testdata/go/out/NAME.wasm` (needs `go`). testdata/gen-go-fixtures.sh
    /// builds them once per test binary: it skips what is up to date, and `flock` keeps
    /// concurrent test binaries from building at the same time.
    pub fn go_fixture(&self, name: &str) -> PathBuf {
        self.path("go");
        static BUILT: OnceLock<()> = OnceLock::new();
        BUILT.get_or_init(|| {
            let out_dir = repo().join("testdata/go/out");
            std::fs::create_dir_all(&out_dir).unwrap();
            let status = Command::new("flock")
                .arg(out_dir.join(".lock"))
                .arg("bash")
                .arg(repo().join("testdata/gen-go-fixtures.sh"))
                .status()
                .expect("flock and bash run");
            assert!(status.success(), "testdata/gen-go-fixtures.sh failed");
        });
        let path = repo().join("testdata/go/out").join(format!("{name}.wasm"));
        assert!(path.exists(), "{} was not built", path.display());
        path
    }
}

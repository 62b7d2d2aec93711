//! Real registries on 127.0.0.1, started on free ports by the test and stopped when dropped:
//! `crane registry serve` (go-containerregistry), Debian's `docker-registry` (distribution 2.8)
//! with htpasswd basic auth, and go-containerregistry's registry with the OCI 1.1 referrers
//! API switched on (testdata/referrers-registry). Each is a method of the `Tools` a test
//! required (tiers.rs).

use super::{repo, Tools};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    pub log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Server {
    /// `host:port`, as a reference's registry part.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(mut cmd: Command, addr: SocketAddr, dir: tempfile::TempDir, name: &str) -> Server {
    let log = dir.path().join(format!("{name}.log"));
    let file = std::fs::File::create(&log).unwrap();
    let child = cmd
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .stdin(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{name} does not start: {e}"));
    let mut server = Server {
        child,
        addr,
        log,
        _dir: dir,
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(addr).is_err() {
        if let Ok(Some(status)) = server.child.try_wait() {
            panic!("{name} exited with {status}: {}", server.log_text());
        }
        assert!(
            Instant::now() < deadline,
            "{name} not ready: {}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

impl Tools {
    /// `crane registry serve`, data in memory (needs `crane`).
    pub fn crane_registry(&self) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let addr = loopback(free_port());
        let mut cmd = self.command("crane");
        cmd.args(["registry", "serve", "--address", &addr.to_string()]);
        start(cmd, addr, dir, "crane-registry")
    }

    /// Debian's docker-registry with htpasswd basic auth for `user`/`password` (needs
    /// `docker-registry` and `htpasswd`).
    pub fn docker_registry(&self, user: &str, password: &str) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let addr = loopback(free_port());
        let htpasswd = dir.path().join("htpasswd");
        let out = self
            .command("htpasswd")
            .args(["-Bbn", user, password])
            .output()
            .expect("htpasswd (apache2-utils) runs");
        assert!(out.status.success());
        std::fs::write(&htpasswd, &out.stdout).unwrap();
        let template =
            std::fs::read_to_string(repo().join("testdata/registry/config.yml.in")).unwrap();
        let config = template
            .replace("@ADDR@", &addr.to_string())
            .replace("@ROOT@", &dir.path().join("data").display().to_string())
            .replace("@HTPASSWD@", &htpasswd.display().to_string());
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let mut cmd = self.command("docker-registry");
        cmd.arg("serve").arg(&config_path);
        start(cmd, addr, dir, "docker-registry")
    }

    /// go-containerregistry's registry with the referrers API (needs `go`; built once per test
    /// binary into Cargo's scratch directory for integration tests).
    pub fn referrers_registry(&self) -> Server {
        static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
        let mut build = self.command("go");
        let binary = BUILT.get_or_init(|| {
            let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("referrers-registry");
            let status = build
                .args(["build", "-o"])
                .arg(&out)
                .arg(".")
                .current_dir(repo().join("testdata/referrers-registry"))
                .status()
                .expect("go runs");
            assert!(
                status.success(),
                "building testdata/referrers-registry failed"
            );
            out
        });
        let dir = tempfile::tempdir().unwrap();
        let addr = loopback(free_port());
        let mut cmd = Command::new(binary);
        cmd.args(["-addr", &addr.to_string()]);
        start(cmd, addr, dir, "referrers-registry")
    }
}

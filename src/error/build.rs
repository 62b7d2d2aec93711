//! What can go wrong in a build (`crate::build`) besides I/O, a bad module or a policy (those are the crate's
//! [`Error`](crate::Error) variants). Each renders as the one line the CLI prints after
//! `error: `; every variant exits 2 ([`Error::exit_code`](crate::Error::exit_code)). A compile
//! error is [`Error::Compile`](crate::Error::Compile), which passes the compiler's status on.

/// A build error of its own kind.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BuildError {
    /// `target = "js"` (or `--target js`).
    #[error("target `js`: GOOS=js builds are for browsers and need wasm_exec.js; wasipack builds WASI modules (wasip1 or wasip2)")]
    JsTarget,
    #[error("unknown target `{0}` (wasip1 or wasip2)")]
    UnknownTarget(String),
    /// The Go release predates `//go:wasmexport`, which a Go component needs.
    #[error("{0} cannot build wasip2 components (-buildmode=c-shared and //go:wasmexport need Go 1.24 or newer)")]
    Wasip2TooOld(String),
    /// Turning a Go module into a component failed (`--target wasip2`): the reason.
    #[error("cannot make a component: {0}")]
    Component(String),
    /// The Go release (as `go env GOVERSION` prints it) predates `GOOS=wasip1`.
    #[error("{0} cannot build GOOS=wasip1 (Go 1.21 or newer is needed)")]
    GoTooOld(String),
    /// The Go release predates wasip1 reactors.
    #[error("{0} cannot build reactors (-buildmode=c-shared for wasip1 and //go:wasmexport need Go 1.24 or newer)")]
    ReactorTooOld(String),
    /// The toolchain did not answer its version question; `hint` says what to install.
    #[error("{source} ({hint})")]
    ToolchainMissing {
        source: Box<BuildError>,
        hint: &'static str,
    },
    /// The toolchain answered without a Go version in what it printed.
    #[error("`{command}` printed no Go version: {printed}")]
    NoGoVersion { command: String, printed: String },
    /// A program (compiler, `go list`, `go env`) could not be started.
    #[error("cannot run `{program}`: {message}")]
    Spawn { program: String, message: String },
    /// The compiler was started but could not be waited for.
    #[error("`{program}` did not finish: {message}")]
    Wait { program: String, message: String },
    /// A helper command (`go list`, `go env`, `tinygo version`) exited unsuccessfully: its
    /// command line and the first distinct lines of its standard error.
    #[error("`{command}` failed: {stderr}")]
    ToolFailed { command: String, stderr: String },
    /// `go list -json` printed something that is not its JSON stream (the parser's message).
    #[error("cannot read `go list -json` output: {0}")]
    GoList(String),
    /// The creation time cannot be had (`SOURCE_DATE_EPOCH` is not a Unix time, say).
    #[error("{0}")]
    CreationTime(String),
    /// `--verify-reproducible` outside a Go module.
    #[error("--verify-reproducible needs a Go module (go.mod)")]
    NoGoModule,
    /// A build in a fresh copy made different module bytes.
    #[error("{module} is not reproducible: a build in a fresh copy differs in {section}")]
    NotReproducible { module: String, section: String },
    /// A build in a fresh copy made the same module but a different manifest.
    #[error("{module} is not reproducible: the OCI manifest digest differs")]
    ManifestNotReproducible { module: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_renders_as_the_line_it_always_did() {
        let failed = BuildError::ToolFailed {
            command: "go env GOVERSION".into(),
            stderr: "go: bad".into(),
        };
        assert_eq!(failed.to_string(), "`go env GOVERSION` failed: go: bad");
        let missing = BuildError::ToolchainMissing {
            source: Box::new(BuildError::Spawn {
                program: "go".into(),
                message: "No such file or directory".into(),
            }),
            hint: "is Go installed? wasipack needs Go 1.21+ on PATH",
        };
        assert_eq!(
            missing.to_string(),
            "cannot run `go`: No such file or directory (is Go installed? wasipack needs Go 1.21+ on PATH)"
        );
        assert_eq!(
            BuildError::GoTooOld("go1.20.14".into()).to_string(),
            "go1.20.14 cannot build GOOS=wasip1 (Go 1.21 or newer is needed)"
        );
        assert_eq!(
            BuildError::NotReproducible {
                module: "app".into(),
                section: "custom section `x`".into()
            }
            .to_string(),
            "app is not reproducible: a build in a fresh copy differs in custom section `x`"
        );
        // Through the crate's error, as the CLI prints it and with its exit code.
        let e = crate::Error::from(BuildError::NoGoModule);
        assert_eq!(
            e.to_string(),
            "--verify-reproducible needs a Go module (go.mod)"
        );
        assert_eq!(e.exit_code(), 2);
    }
}

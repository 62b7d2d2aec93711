//! What keeps `rebuild` from judging an artifact (`crate::workflow::rebuild`): no provenance it
//! can trust, a provenance that does not say how to rebuild, a source that cannot be fetched, a
//! toolchain other than the recorded one; and what keeps `verify --require-attestation rebuild`
//! from counting a rebuild (one the builder attested itself). Each renders as the one line the
//! CLI prints after `error: `; every one exits 2 ("could not judge"). A rebuild that differs is
//! not an error but a result (exit 1).

#[derive(Debug, Clone, thiserror::Error)]
pub enum RebuildError {
    /// No SLSA provenance attestation that the key verifies.
    #[error("{reference}: no SLSA provenance to rebuild from: {why}")]
    NoProvenance { reference: String, why: String },
    /// The provenance lacks what a rebuild needs (a source, a commit, the configuration).
    #[error("{reference}: the provenance cannot be rebuilt from: {why}")]
    Incomplete { reference: String, why: String },
    /// `git` could not fetch the source or check out the commit.
    #[error("source {uri}: {message}")]
    Source { uri: String, message: String },
    /// The toolchain here is not the one the provenance records.
    #[error("the module was built with {needed}; this machine's `{program}` is {found} (install {needed}, or pass --allow-toolchain-download to let Go fetch it with GOTOOLCHAIN={needed})")]
    Toolchain {
        program: String,
        needed: String,
        found: String,
    },
    /// `--allow-toolchain-download`, and Go could not fetch the recorded release (no module
    /// proxy, the release not there, a checksum that does not match): Go's reason.
    #[error("the module was built with {needed}, which Go could not fetch (GOTOOLCHAIN={needed}): {message}")]
    ToolchainDownload { needed: String, message: String },
    /// `verify --require-attestation rebuild`: the only verification summaries the rebuilder's
    /// identity options admit are signed by an identity that also signed the artifact, so
    /// the builder would be vouching for its own build.
    #[error("the rebuild attestation ({predicate_type}) is signed by the builder's own identity {identity} (issuer {issuer}); require a rebuilder other than the builder (narrow --rebuild-certificate-identity[-regexp] and --rebuild-certificate-oidc-issuer[-regexp])")]
    BuildersOwn {
        predicate_type: String,
        identity: String,
        issuer: String,
    },
}

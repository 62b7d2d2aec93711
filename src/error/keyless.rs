//! What can go wrong in keyless signing and verification, and in logging a key's signatures
//! (`crate::sign::keyless`), before a signature can be judged: no identity token, an instance
//! that cannot be used, a Sigstore service (Fulcio, Rekor, the timestamp authority, TUF) that
//! refuses or cannot be reached.
//! Each renders as the one line the CLI prints after `error: `; every one exits 2. A signature
//! that does not verify is not an error but a failed step of `verify` (exit 1).

/// A keyless error of its own kind.
#[derive(Debug, Clone, thiserror::Error)]
pub enum KeylessError {
    /// No `--identity-token`, no `SIGSTORE_ID_TOKEN`, no ambient CI token.
    #[error("keyless signing needs an OIDC identity token: pass --identity-token, set SIGSTORE_ID_TOKEN, or run in GitHub Actions with `permissions: id-token: write`")]
    NoToken,
    /// A token that cannot be used: not a JWT, expired, for another audience.
    #[error("identity token ({source_name}): {message}")]
    Token {
        source_name: &'static str,
        message: String,
    },
    /// A `--signing-config` or `--trusted-root` file (or the public instance's TUF metadata)
    /// that cannot be used.
    #[error("{what}: {message}")]
    Instance { what: String, message: String },
    /// Fulcio refused a certificate for the token (it answered 4xx: an audience it does not
    /// take, an issuer it does not trust...): what the token says, and Fulcio's answer.
    #[error(
        "Fulcio refused the identity token (audience {audience}, issuer `{issuer}`): {message}"
    )]
    Refused {
        audience: String,
        issuer: String,
        message: String,
    },
    /// Fulcio, Rekor or the timestamp authority refused or could not be reached while signing.
    #[error("keyless signing failed: {0}")]
    Service(String),
    /// The transparency log or the timestamp authority refused or could not be reached while
    /// logging a key's signature (`--signing-config` with `--key`).
    #[error("logging the signature failed: {0}")]
    Log(String),
}

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
    /// Fulcio, the transparency log or the timestamp authority refused, could not be reached,
    /// or answered what is not its API: which one, its URL, and what happened
    /// ([`Failure`]), after `attempts` tries (more than one only for a failure that may pass:
    /// [`KeylessError::retryable`]).
    #[error("{doing} failed: {service} {url} {failure}{}", tries(*attempts))]
    ServiceFailed {
        doing: Doing,
        service: Service,
        url: String,
        failure: Failure,
        attempts: u32,
    },
    /// A bundle the instance's services made (keyless, or logging a key's signature) that does
    /// not verify against the trust root (`--trusted-root`, or the public-good instance's): a
    /// log, timestamp authority or CA the root does not name, or an answer altered on its way.
    /// Nothing was written.
    #[error("{doing} failed: the bundle made does not verify against {what}: {why}")]
    Unverifiable {
        doing: Doing,
        what: String,
        why: String,
    },
    /// Signing failed in wasipack itself (no service at fault): a task that failed, a bundle
    /// the crates could not serialize.
    #[error("keyless signing failed: {0}")]
    Service(String),
    /// The same while logging a key's signature (`--signing-config` with `--key`).
    #[error("logging the signature failed: {0}")]
    Log(String),
}

fn tries(attempts: u32) -> String {
    if attempts > 1 {
        format!(" (tried {attempts} times)")
    } else {
        String::new()
    }
}

impl KeylessError {
    /// Whether trying again may succeed: a service that could not be reached or answered
    /// 5xx or 429. Never a 4xx, an answer that is not the service's API, or anything else.
    /// Decided on the kind, as [`crate::error::RegistryErrorKind::retryable`] is.
    pub fn retryable(&self) -> bool {
        match self {
            KeylessError::ServiceFailed { failure, .. } => failure.retryable(),
            _ => false,
        }
    }
}

/// What was being done when a service failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Doing {
    /// Keyless signing (`--keyless`).
    KeylessSigning,
    /// Logging a key's signature (`--key` with an instance).
    Logging,
}

impl std::fmt::Display for Doing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Doing::KeylessSigning => "keyless signing",
            Doing::Logging => "logging the signature",
        })
    }
}

/// A Sigstore service wasipack talks to while signing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Fulcio,
    /// Rekor.
    TransparencyLog,
    TimestampAuthority,
}

impl std::fmt::Display for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Service::Fulcio => "Fulcio",
            Service::TransparencyLog => "the transparency log",
            Service::TimestampAuthority => "the timestamp authority",
        })
    }
}

/// How a service failed: what a retry is decided on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// It answered an HTTP error status; `message` is its own message (the body), on one
    /// line and capped.
    Status { status: u16, message: String },
    /// No answer: the connection failed, or broke before the answer was read.
    Unreachable(String),
    /// An answer that is not the service's API (not JSON, not a timestamp response, a proof
    /// that does not parse).
    Garbage(String),
    /// It failed without saying how, and answered normally when asked again right after: a
    /// failure that did not last (`why` is what the client saw).
    Passing(String),
}

impl Failure {
    pub fn retryable(&self) -> bool {
        match self {
            Failure::Status { status, .. } => *status == 429 || (500..600).contains(status),
            Failure::Unreachable(_) | Failure::Passing(_) => true,
            Failure::Garbage(_) => false,
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Status { status, message } if message.is_empty() => {
                write!(f, "answered HTTP {status}")
            }
            Failure::Status { status, message } => write!(f, "answered HTTP {status}: {message}"),
            Failure::Unreachable(why) => write!(f, "could not be reached: {why}"),
            Failure::Garbage(why) => write!(f, "answered what is not its API: {why}"),
            Failure::Passing(why) => write!(
                f,
                "failed ({why}) and answered normally when asked again: a passing failure"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(failure: Failure, attempts: u32) -> KeylessError {
        KeylessError::ServiceFailed {
            doing: Doing::KeylessSigning,
            service: Service::TransparencyLog,
            url: "http://127.0.0.1:3000".into(),
            failure,
            attempts,
        }
    }

    #[test]
    fn a_refusal_is_not_retried_an_outage_or_a_server_error_is() {
        let status = |status| Failure::Status {
            status,
            message: String::new(),
        };
        for (failure, retried) in [
            (status(400), false),
            (status(404), false),
            (status(405), false),
            (status(429), true),
            (status(500), true),
            (status(503), true),
            (Failure::Unreachable("connection refused".into()), true),
            (Failure::Garbage("not JSON".into()), false),
            (Failure::Passing("error sending request".into()), true),
        ] {
            assert_eq!(failed(failure.clone(), 1).retryable(), retried, "{failure}");
        }
        assert!(!KeylessError::Service("a task failed".into()).retryable());
    }

    #[test]
    fn a_service_failure_names_the_service_its_url_what_it_said_and_the_tries() {
        let e = failed(
            Failure::Status {
                status: 404,
                message: "404 page not found".into(),
            },
            1,
        );
        assert_eq!(
            e.to_string(),
            "keyless signing failed: the transparency log http://127.0.0.1:3000 answered HTTP 404: 404 page not found"
        );
        let e = KeylessError::ServiceFailed {
            doing: Doing::Logging,
            service: Service::TimestampAuthority,
            url: "http://127.0.0.1:9/api/v1/timestamp".into(),
            failure: Failure::Unreachable("connection refused".into()),
            attempts: 3,
        };
        assert_eq!(
            e.to_string(),
            "logging the signature failed: the timestamp authority http://127.0.0.1:9/api/v1/timestamp could not be reached: connection refused (tried 3 times)"
        );
        // A TSA that failed unsaid and answered the probe is not called unreachable.
        let e = KeylessError::ServiceFailed {
            doing: Doing::Logging,
            service: Service::TimestampAuthority,
            url: "http://127.0.0.1:9/api/v1/timestamp".into(),
            failure: Failure::Passing("HTTP error".into()),
            attempts: 3,
        };
        let line = e.to_string();
        assert!(!line.contains("could not be reached"), "{line}");
        assert!(
            line.ends_with("failed (HTTP error) and answered normally when asked again: a passing failure (tried 3 times)"),
            "{line}"
        );
    }
}

//! Registry and network errors, typed: where (registry and repository, never a secret), what
//! was being done, the HTTP status and the distribution-spec error code when there were any.
//! Decisions (retry or not) are taken on [`RegistryError::kind`], never on the message text;
//! the one-line text stays what `docs/exit-codes.md` shows.

use crate::text::capped;
use std::fmt;

/// How much of a registry's error message (and code) is kept for the one-line error: a
/// registry, or whatever answers in its place, may send a message of any length.
pub const MESSAGE_CAP: usize = 512;
/// The same for the distribution-spec error code shown with it (real codes are short words).
pub const CODE_CAP: usize = 64;

/// What kind of registry failure this is: what a caller decides on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistryErrorKind {
    /// Credentials missing or refused (401, `UNAUTHORIZED`, a token request refused, a
    /// credential helper that fails).
    Auth,
    /// Authenticated, but not allowed (403, `DENIED`).
    Denied,
    /// No such repository, manifest, blob or tag (404, `*_UNKNOWN`).
    NotFound,
    /// Rate-limited (429, `TOOMANYREQUESTS`).
    TooManyRequests,
    /// The registry failed (5xx).
    Server,
    /// No answer: the connection failed, or broke while the body was read.
    Transport,
    /// A request went past its overall deadline (`--timeout`): not retried, since a registry
    /// that slow would only multiply the wait.
    Timeout,
    /// A tag we appended to (`sha256-HEX.sig`, `.att`, the referrers fallback index) could
    /// not be confirmed to keep what we added: other writers kept replacing it, or our own
    /// write took longer than other writers watch the tag for, so that it may have replaced
    /// an entry of theirs. The distribution API has no compare-and-swap on a tag.
    Unconfirmed,
    /// Anything else: another 4xx (`DIGEST_INVALID`, `MANIFEST_INVALID`, ...), an answer that
    /// does not follow the protocol, or a failure with only a message.
    Protocol,
}

impl RegistryErrorKind {
    /// The kind an HTTP status (and, for a 4xx the status does not decide, the
    /// distribution-spec error code) says.
    pub fn of_status(status: u16, code: Option<&str>) -> RegistryErrorKind {
        use RegistryErrorKind::*;
        match status {
            401 => Auth,
            403 => Denied,
            404 => NotFound,
            429 => TooManyRequests,
            500..=599 => Server,
            _ => match code {
                Some("UNAUTHORIZED") => Auth,
                Some("DENIED") => Denied,
                Some("TOOMANYREQUESTS") => TooManyRequests,
                Some(c) if c.ends_with("_UNKNOWN") => NotFound,
                _ => Protocol,
            },
        }
    }

    /// Whether the same request may succeed if sent again: 5xx, 429 and connection errors.
    /// Never 401, 403, 404 or another 4xx: sending them again changes nothing.
    pub fn retryable(self) -> bool {
        matches!(
            self,
            RegistryErrorKind::Server
                | RegistryErrorKind::TooManyRequests
                | RegistryErrorKind::Transport
        )
    }
}

/// A registry or network failure.
///
/// Renders as `REGISTRY/REPO: WHAT: MESSAGE`, each part present only when known: for an
/// unexpected answer the message is `STATUS REASON (CODE: REGISTRY'S MESSAGE)`.
#[derive(Debug)]
pub struct RegistryError {
    repository: Option<String>,
    action: Option<String>,
    status: Option<u16>,
    code: Option<String>,
    message: String,
    kind: RegistryErrorKind,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl RegistryError {
    /// A failure of `kind` with only a message (which names where it happened).
    pub fn new(kind: RegistryErrorKind, message: impl Into<String>) -> RegistryError {
        RegistryError {
            repository: None,
            action: None,
            status: None,
            code: None,
            message: message.into(),
            kind,
            source: None,
        }
    }

    /// A failure with only a message, of kind [`RegistryErrorKind::Protocol`].
    pub fn other(message: impl Into<String>) -> RegistryError {
        RegistryError::new(RegistryErrorKind::Protocol, message)
    }

    /// An unexpected HTTP answer: its status, the distribution-spec error code from the body
    /// (`errors[0].code`) when it had one, and `message`, the line to show for it.
    pub fn status(status: u16, code: Option<String>, message: impl Into<String>) -> RegistryError {
        RegistryError {
            kind: RegistryErrorKind::of_status(status, code.as_deref()),
            status: Some(status),
            code,
            ..RegistryError::other(message)
        }
    }

    /// The error for an answer with an unexpected `status` (`reason`: its reason phrase):
    /// `STATUS REASON (CODE: MESSAGE)` with the distribution-spec error (`errors[0]`) when
    /// the body has one, else the start of the body on one line. The message is cut at
    /// [`MESSAGE_CAP`] characters and the code shown at [`CODE_CAP`], each with `...` and its
    /// full length; [`RegistryError::code`] keeps the whole code. Control characters are left
    /// for the printer to escape (`text::printable`).
    pub fn answer(status: u16, reason: Option<&str>, body: &[u8]) -> RegistryError {
        let spec_error = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| {
                let e = &v["errors"][0];
                e["code"].as_str().map(|code| {
                    let message = e["message"].as_str().unwrap_or_default();
                    let shown = format!(
                        "{}: {}",
                        capped(code, CODE_CAP),
                        capped(message, MESSAGE_CAP)
                    );
                    (code.to_string(), shown)
                })
            });
        let (code, detail) = match spec_error {
            Some((code, detail)) => (Some(code), detail),
            None => (
                None,
                String::from_utf8_lossy(&body[..body.len().min(200)])
                    .trim()
                    .replace('\n', " "),
            ),
        };
        let status_text = format!("{status} {}", reason.unwrap_or(""));
        let message = format!(
            "{}{}",
            status_text.trim(),
            if detail.is_empty() {
                String::new()
            } else {
                format!(" ({detail})")
            }
        );
        RegistryError::status(status, code, message)
    }

    /// A request past its deadline: `source` is the transport's own error.
    pub fn timed_out(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> RegistryError {
        RegistryError {
            source: Some(Box::new(source)),
            ..RegistryError::new(RegistryErrorKind::Timeout, message)
        }
    }

    /// No answer, or an answer cut off: `source` is the transport's own error.
    pub fn transport(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> RegistryError {
        RegistryError {
            source: Some(Box::new(source)),
            ..RegistryError::new(RegistryErrorKind::Transport, message)
        }
    }

    /// Names the registry and repository (`REGISTRY/REPO`) it happened at.
    pub fn at(mut self, repository: impl Into<String>) -> RegistryError {
        self.repository = Some(repository.into());
        self
    }

    /// Names what was being done (`GET manifest v1`, `PUT manifest TAG`, `token request`).
    pub fn during(mut self, action: impl Into<String>) -> RegistryError {
        self.action = Some(action.into());
        self
    }

    pub fn kind(&self) -> RegistryErrorKind {
        self.kind
    }

    /// See [`RegistryErrorKind::retryable`].
    pub fn retryable(&self) -> bool {
        self.kind.retryable()
    }

    /// `REGISTRY/REPO`, when known.
    pub fn repository(&self) -> Option<&str> {
        self.repository.as_deref()
    }

    /// What was being done, when known.
    pub fn action(&self) -> Option<&str> {
        self.action.as_deref()
    }

    /// The HTTP status of the answer, if there was one.
    pub fn http_status(&self) -> Option<u16> {
        self.status
    }

    /// The distribution-spec error code (`MANIFEST_UNKNOWN`, `DIGEST_INVALID`, ...), if the
    /// registry sent one.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// The message, without the repository and action.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in [&self.repository, &self.action].into_iter().flatten() {
            write!(f, "{part}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for RegistryError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::RegistryErrorKind::*;
    use super::*;

    #[test]
    fn statuses_and_codes_classify() {
        for (status, code, kind) in [
            (401, Some("UNAUTHORIZED"), Auth),
            (401, None, Auth),
            (403, Some("DENIED"), Denied),
            (404, Some("MANIFEST_UNKNOWN"), NotFound),
            (404, None, NotFound),
            (429, Some("TOOMANYREQUESTS"), TooManyRequests),
            (500, None, Server),
            (502, None, Server),
            (503, Some("UNAVAILABLE"), Server),
            (400, Some("DIGEST_INVALID"), Protocol),
            (400, Some("MANIFEST_INVALID"), Protocol),
            (400, Some("MANIFEST_BLOB_UNKNOWN"), NotFound),
            (400, Some("DENIED"), Denied),
            (400, Some("UNAUTHORIZED"), Auth),
            (405, Some("UNSUPPORTED"), Protocol),
            (413, None, Protocol),
            (302, None, Protocol),
        ] {
            let e = RegistryError::status(status, code.map(str::to_string), "m");
            assert_eq!(e.kind(), kind, "{status} {code:?}");
            assert_eq!(e.http_status(), Some(status));
            assert_eq!(e.code(), code);
        }
    }

    #[test]
    fn answers_keep_their_status_and_the_registrys_error_code() {
        let body =
            br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{}}]}"#;
        let e = RegistryError::answer(404, Some("Not Found"), body);
        assert_eq!(e.http_status(), Some(404));
        assert_eq!(e.code(), Some("MANIFEST_UNKNOWN"));
        assert_eq!(e.kind(), NotFound);
        assert!(!e.retryable());
        assert_eq!(
            e.to_string(),
            "404 Not Found (MANIFEST_UNKNOWN: manifest unknown)"
        );

        let body = br#"{"errors":[{"code":"DIGEST_INVALID","message":"provided digest did not match uploaded content"}]}"#;
        let e = RegistryError::answer(400, Some("Bad Request"), body);
        assert_eq!(e.code(), Some("DIGEST_INVALID"));
        assert_eq!(e.kind(), Protocol);

        // No distribution-spec error: the start of the body, on one line.
        let e = RegistryError::answer(502, Some("Bad Gateway"), b"<html>\nbad gateway\n</html>");
        assert_eq!(e.code(), None);
        assert_eq!(e.kind(), Server);
        assert!(e.retryable());
        assert_eq!(
            e.to_string(),
            "502 Bad Gateway (<html> bad gateway </html>)"
        );

        let e = RegistryError::answer(429, Some("Too Many Requests"), b"");
        assert!(e.retryable());
        assert_eq!(e.to_string(), "429 Too Many Requests");
        assert_eq!(RegistryError::answer(599, None, b"").to_string(), "599");

        for status in [401, 403] {
            assert!(
                !RegistryError::answer(status, None, b"{}").retryable(),
                "{status}"
            );
        }
    }

    #[test]
    fn a_registrys_long_message_and_code_are_capped() {
        let message = "m".repeat(100_000);
        let code = "C".repeat(1000);
        let body = serde_json::json!({ "errors": [{ "code": code, "message": message }] });
        let e = RegistryError::answer(400, Some("Bad Request"), body.to_string().as_bytes());
        let text = e.to_string();
        assert_eq!(
            text,
            format!(
                "400 Bad Request ({}... (1000 characters in all): {}... (100000 characters in all))",
                "C".repeat(CODE_CAP),
                "m".repeat(MESSAGE_CAP)
            )
        );
        // The whole code is still what the kind and callers see.
        assert_eq!(e.code(), Some(code.as_str()));
        // Up to the cap, nothing changes.
        let body = serde_json::json!({ "errors": [{ "code": "DENIED", "message": "m".repeat(MESSAGE_CAP) }] });
        let e = RegistryError::answer(403, None, body.to_string().as_bytes());
        assert_eq!(
            e.message(),
            format!("403 (DENIED: {})", "m".repeat(MESSAGE_CAP))
        );
    }

    #[test]
    fn only_5xx_429_and_connection_errors_are_retryable() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        assert!(RegistryError::transport("cut off", io).retryable());
        for status in [429, 500, 502, 503, 504] {
            assert!(
                RegistryError::status(status, None, "m").retryable(),
                "{status}"
            );
        }
        for status in [400, 401, 403, 404, 405, 409, 413, 416] {
            assert!(
                !RegistryError::status(status, None, "m").retryable(),
                "{status}"
            );
        }
        let digest_invalid = RegistryError::status(400, Some("DIGEST_INVALID".into()), "m");
        assert!(!digest_invalid.retryable());
        assert!(!RegistryError::other("not JSON").retryable());
        assert!(!RegistryError::new(Auth, "helper failed").retryable());
        // A request past its deadline is not sent again: the wait would only multiply.
        let late = std::io::Error::new(std::io::ErrorKind::TimedOut, "deadline");
        assert!(!RegistryError::timed_out("timed out", late).retryable());
    }

    #[test]
    fn renders_repository_action_and_message_as_one_line() {
        let e = RegistryError::status(
            404,
            Some("BLOB_UNKNOWN".into()),
            "404 Not Found (BLOB_UNKNOWN: blob unknown to registry)",
        )
        .at("127.0.0.1:5001/demo/third")
        .during("GET blob sha256:07");
        assert_eq!(
            e.to_string(),
            "127.0.0.1:5001/demo/third: GET blob sha256:07: 404 Not Found (BLOB_UNKNOWN: blob unknown to registry)"
        );
        assert_eq!(e.repository(), Some("127.0.0.1:5001/demo/third"));
        assert_eq!(e.action(), Some("GET blob sha256:07"));
        assert_eq!(
            e.message(),
            "404 Not Found (BLOB_UNKNOWN: blob unknown to registry)"
        );
        assert_eq!(
            RegistryError::other("x: not found").to_string(),
            "x: not found"
        );
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let e = RegistryError::transport("error sending request: refused", io).at("r/x");
        assert_eq!(e.to_string(), "r/x: error sending request: refused");
        let source = std::error::Error::source(&e).expect("the transport error is the source");
        assert_eq!(source.to_string(), "refused");
    }
}

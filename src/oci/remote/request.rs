//! Requests: URLs, one-line errors, authentication (basic, or a bearer token from the
//! challenge) and retries with backoff, decided by the kind of error.

use super::*;

impl Inner {
    pub(super) fn url(&self, path: &str) -> Result<Url> {
        self.base
            .join(&format!("v2/{}/{path}", self.reference.repository))
            .map_err(|e| Error::Reference(format!("{}: {e}", self.reference)))
    }

    /// Bytes that are not what their digest says.
    pub(super) fn mismatch(&self, message: &str) -> Error {
        Error::Integrity(format!(
            "{}/{}: {message}",
            self.reference.registry, self.reference.repository
        ))
    }

    /// `REGISTRY/REPO`, what every registry error names.
    pub(super) fn place(&self) -> String {
        format!("{}/{}", self.reference.registry, self.reference.repository)
    }

    /// A failure with only a message.
    pub(super) fn fail(&self, message: &str) -> Error {
        RegistryError::other(message).at(self.place()).into()
    }

    /// An answer to `what` that does not follow the protocol (not JSON, no token, ...).
    pub(super) fn protocol(&self, what: &str, message: String) -> Error {
        RegistryError::other(message)
            .at(self.place())
            .during(what)
            .into()
    }

    /// No answer to `what`, or one cut off while its body was read, or one that took longer
    /// than its deadline ([`RegistryErrorKind::Timeout`]: see [`Options::timeout`]).
    pub(super) fn broken(&self, what: &str, message: String, e: reqwest::Error) -> Error {
        let error = if timed_out(&e) {
            RegistryError::timed_out(
                format!(
                    "timed out: no complete answer within the request's deadline ({} s, more for a blob by its size: --timeout, WASIPACK_TIMEOUT), or no data for {} s",
                    self.opts.timeout.as_secs_f64(),
                    READ_TIMEOUT.as_secs()
                ),
                e,
            )
        } else {
            RegistryError::transport(message, e)
        };
        error.at(self.place()).during(what).into()
    }

    pub(super) fn scopes(&self) -> Vec<String> {
        let actions = if self.opts.push { "pull,push" } else { "pull" };
        let mut scopes = vec![format!(
            "repository:{}:{actions}",
            self.reference.repository
        )];
        for from in &self.opts.mount_from {
            scopes.push(format!("repository:{from}:pull"));
        }
        scopes
    }

    /// Sends a request built by `build` (called again for each attempt), authenticating on a
    /// 401 challenge and, when `retry`, retrying connection errors, 5xx and 429.
    pub(super) async fn send(
        &self,
        what: &str,
        build: impl Fn() -> reqwest::RequestBuilder,
        retry: bool,
    ) -> Result<reqwest::Response> {
        let mut attempt = 0;
        let mut challenged = false;
        loop {
            let (client, request) = build().build_split();
            let mut request = request.map_err(|e| self.broken(what, describe(&e), e))?;
            // Every request has a deadline: the caller's (a blob's, by its size) or the
            // default one.
            if request.timeout().is_none() {
                *request.timeout_mut() = Some(self.opts.timeout);
            }
            // The registry's credential or token goes to the registry's own origin only, never
            // to an upload `Location` elsewhere (redirects: see `redirect_policy`).
            let authorization = self.authorization.lock().expect("no panic").clone();
            if let Some(a) = &authorization {
                if auth::same_origin(request.url(), &self.base) {
                    let value = reqwest::header::HeaderValue::from_str(a).map_err(|_| {
                        self.protocol(what, "the authorization is not a valid header".into())
                    })?;
                    request.headers_mut().insert(AUTHORIZATION, value);
                }
            }
            let result = client.execute(request).await;
            let retryable = match &result {
                Ok(resp) => {
                    let status = resp.status();
                    self.opts
                        .observer
                        .response(what, resp.url().path(), status.as_u16());
                    if status == StatusCode::UNAUTHORIZED {
                        let challenge = header(resp.headers(), "www-authenticate")
                            .and_then(auth::parse_challenge);
                        if challenged || challenge.is_none() {
                            return Err(self.auth_failed(what, status.as_u16()));
                        }
                        self.authenticate(challenge.expect("checked")).await?;
                        challenged = true;
                        continue;
                    }
                    RegistryErrorKind::of_status(status.as_u16(), None).retryable()
                }
                Err(e) => {
                    self.opts.observer.no_response(what, &describe(e));
                    if timed_out(e) {
                        RegistryErrorKind::Timeout.retryable()
                    } else {
                        RegistryErrorKind::Transport.retryable()
                    }
                }
            };
            if !(retry && retryable && attempt < self.opts.retries) {
                return result.map_err(|e| self.broken(what, describe(&e), e));
            }
            let wait = match &result {
                Ok(resp) => retry_after(resp.headers()),
                Err(_) => None,
            }
            .unwrap_or(self.opts.backoff * 2u32.pow(attempt));
            attempt += 1;
            tokio::time::sleep(wait.min(Duration::from_secs(60))).await;
        }
    }

    /// Credentials refused, or needed and not given: the answer to `what` had `status` (401,
    /// or 403 from a token request).
    pub(super) fn auth_failed(&self, what: &str, status: u16) -> Error {
        let registry = &self.reference.registry;
        let message = match &self.credential {
            Some(c) => format!(
                "authentication failed as `{}` (wrong username or password, or no access to this repository)",
                c.username()
            ),
            None => format!(
                "the registry requires authentication: run `wasipack login {registry}` or pass --username with --password-stdin"
            ),
        };
        RegistryError::status(status, None, message)
            .at(self.place())
            .during(what)
            .into()
    }

    /// Answers a challenge: basic credentials, or a bearer token from the realm.
    pub(super) async fn authenticate(&self, challenge: Challenge) -> Result<()> {
        let value = match challenge {
            Challenge::Basic => match self.credential.as_ref().and_then(|c| c.basic_header()) {
                Some(h) => h,
                None => return Err(self.auth_failed("authenticate", 401)),
            },
            Challenge::Bearer {
                realm,
                service,
                scope,
            } => {
                let mut url = Url::parse(&realm)
                    .map_err(|e| self.fail(&format!("token realm `{realm}`: {e}")))?;
                // Credentials go over TLS, or over plain HTTP only where the registry itself
                // was allowed it (docs/commands/login.md#where-credentials-go).
                auth::check_realm(&url, &self.base, self.opts.insecure).map_err(|why| {
                    Error::from(
                        RegistryError::new(RegistryErrorKind::Auth, why)
                            .at(self.place())
                            .during("token request"),
                    )
                })?;
                let mut scopes = self.scopes();
                if let Some(s) = scope {
                    if !scopes.contains(&s) {
                        scopes.push(s);
                    }
                }
                let request = match &self.credential {
                    Some(Credential::IdentityToken(token)) => {
                        let mut form = vec![
                            ("grant_type", "refresh_token".to_string()),
                            ("refresh_token", token.clone()),
                            ("client_id", "wasipack".to_string()),
                            ("scope", scopes.join(" ")),
                        ];
                        if let Some(s) = &service {
                            form.push(("service", s.clone()));
                        }
                        self.http.post(url).timeout(self.opts.timeout).form(&form)
                    }
                    credential => {
                        {
                            let mut q = url.query_pairs_mut();
                            if let Some(s) = &service {
                                q.append_pair("service", s);
                            }
                            for s in &scopes {
                                q.append_pair("scope", s);
                            }
                        }
                        let mut r = self.http.get(url).timeout(self.opts.timeout);
                        if let Some(h) = credential.as_ref().and_then(|c| c.basic_header()) {
                            r = r.header(AUTHORIZATION, h);
                        }
                        r
                    }
                };
                let resp = request
                    .send()
                    .await
                    .map_err(|e| self.broken("token request", describe(&e), e))?;
                if matches!(
                    resp.status(),
                    StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
                ) {
                    return Err(self.auth_failed("token request", resp.status().as_u16()));
                }
                let resp = self
                    .expect(resp, &[StatusCode::OK], "token request")
                    .await?;
                let body = resp
                    .bytes()
                    .await
                    .map_err(|e| self.broken("token request", describe(&e), e))?;
                let body: serde_json::Value = serde_json::from_slice(&body)
                    .map_err(|e| self.protocol("token request", format!("not JSON: {e}")))?;
                let token = body["token"]
                    .as_str()
                    .or(body["access_token"].as_str())
                    .ok_or_else(|| {
                        self.protocol("token request", "the answer has no token".into())
                    })?;
                format!("Bearer {token}")
            }
        };
        *self.authorization.lock().expect("no panic") = Some(value);
        Ok(())
    }

    /// Passes `resp` through when its status is expected; otherwise an error quoting the
    /// registry's own error code and message.
    pub(super) async fn expect(
        &self,
        resp: reqwest::Response,
        ok: &[StatusCode],
        what: &str,
    ) -> Result<reqwest::Response> {
        if ok.contains(&resp.status()) {
            return Ok(resp);
        }
        Err(self.status_error(resp, what).await)
    }

    /// An error for an unexpected answer, quoting the registry's own error code and message.
    pub(super) async fn status_error(&self, resp: reqwest::Response, what: &str) -> Error {
        let status = resp.status();
        // The start of the body is enough for the error's code and message: a registry that
        // answers an error with an endless body is not read to its end.
        let mut resp = resp;
        let mut body = Vec::new();
        while let Ok(Some(chunk)) = resp.chunk().await {
            body.extend_from_slice(&chunk);
            if body.len() >= ERROR_BODY_CAP {
                break;
            }
        }
        RegistryError::answer(status.as_u16(), status.canonical_reason(), &body)
            .at(self.place())
            .during(what)
            .into()
    }
}

/// How the client follows redirects, said here rather than left to reqwest's default: at most
/// 10, and never from HTTPS down to plain HTTP unless the registry was allowed plain HTTP
/// (loopback or `--insecure`). reqwest itself (0.12) drops `Authorization` when a redirect
/// changes the host or the port, but keeps it across a change of scheme alone; refusing the
/// downgrade closes that.
pub(super) fn redirect_policy(plain_allowed: bool) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() >= 10 {
            return attempt.error("too many redirects (more than 10)");
        }
        match redirect_allowed(attempt.url(), plain_allowed) {
            Ok(()) => attempt.follow(),
            Err(why) => attempt.error(why),
        }
    })
}

/// Whether a redirect to `next` may be followed (see [`redirect_policy`]).
pub(super) fn redirect_allowed(next: &Url, plain_allowed: bool) -> std::result::Result<(), String> {
    match next.scheme() {
        "https" => Ok(()),
        "http" if plain_allowed => Ok(()),
        scheme => Err(format!(
            "refused a redirect to {scheme}://{}: the registry is reached over TLS (pass --insecure to allow plain HTTP)",
            next.host_str().unwrap_or("")
        )),
    }
}

/// `Retry-After` in seconds (the HTTP-date form is rare from registries and is ignored).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    header(headers, "retry-after")?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// How much of an error answer's body is read.
const ERROR_BODY_CAP: usize = 64 << 10;

/// Whether `e` is a request that went past its deadline (or sent nothing for
/// [`READ_TIMEOUT`]); a connection that could not be made in time is a connection error.
fn timed_out(e: &reqwest::Error) -> bool {
    e.is_timeout() && !e.is_connect()
}

/// A reqwest error in one line, with its cause (reqwest's own text omits it).
pub(super) fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_never_go_down_to_plain_http_from_a_tls_registry() {
        let https = Url::parse("https://cdn.example/blob?sig=x").unwrap();
        let http = Url::parse("http://cdn.example/blob?sig=x").unwrap();
        let ftp = Url::parse("ftp://cdn.example/blob").unwrap();
        assert!(redirect_allowed(&https, false).is_ok());
        assert!(redirect_allowed(&https, true).is_ok());
        assert!(redirect_allowed(&http, true).is_ok());
        let why = redirect_allowed(&http, false).unwrap_err();
        assert!(why.contains("http://cdn.example"), "{why}");
        assert!(!why.contains("sig=x"), "{why}");
        assert!(redirect_allowed(&ftp, true).is_err());
    }
}

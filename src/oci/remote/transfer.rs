//! Transfers: manifests, blob downloads (size and digest checked as they stream) and blob
//! uploads (HEAD first, mount, the single-request POST for small blobs, whole or chunked, with
//! the fallbacks a registry's answers call for).

use super::*;

impl Inner {
    pub(super) async fn get_manifest(&self, reference: &str) -> Result<Option<Fetched>> {
        let url = self.url(&format!("manifests/{reference}"))?;
        let what = format!("GET manifest {reference}");
        let resp = self
            .send(
                &what,
                || self.http.get(url.clone()).header(ACCEPT, MANIFEST_ACCEPT),
                true,
            )
            .await?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let resp = self.expect(resp, &[StatusCode::OK], &what).await?;
        let header_digest = header(resp.headers(), "docker-content-digest").map(str::to_string);
        let content_type = header(resp.headers(), "content-type").map(str::to_string);
        // Read with a cap: a registry that streams without end is cut off, not buffered.
        let mut resp = resp;
        let mut bytes = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| self.broken(&what, describe(&e), e))?
        {
            if (bytes.len() + chunk.len()) as u64 > crate::oci::model::MAX_MANIFEST {
                return Err(self.protocol(
                    &what,
                    format!(
                        "the manifest is larger than {} bytes",
                        crate::oci::model::MAX_MANIFEST
                    ),
                ));
            }
            bytes.extend_from_slice(&chunk);
        }
        let digest = crate::digest::sha256_digest(&bytes);
        if reference.starts_with("sha256:") && digest != reference {
            return Err(self.mismatch(&format!(
                "{what}: the registry sent a manifest whose digest is {digest}"
            )));
        }
        if let Some(d) = header_digest.filter(|d| d.starts_with("sha256:")) {
            if d != digest {
                return Err(self.mismatch(&format!(
                    "{what}: the registry says {d} but sent bytes whose digest is {digest}"
                )));
            }
        }
        let parsed: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| self.protocol(&what, format!("not JSON: {e}")))?;
        let media_type = parsed["mediaType"]
            .as_str()
            .map(str::to_string)
            .or(content_type)
            .unwrap_or_else(|| MANIFEST.to_string());
        Ok(Some(Fetched {
            bytes,
            media_type,
            digest,
        }))
    }

    pub(super) async fn download(
        &self,
        d: &Descriptor,
        sink: &mut dyn std::io::Write,
    ) -> Result<()> {
        let url = self.url(&format!("blobs/{}", d.digest))?;
        let what = format!("GET blob {}", d.digest);
        let resp = self
            .send(
                &what,
                || {
                    self.http
                        .get(url.clone())
                        .timeout(self.opts.deadline_for(d.size))
                },
                true,
            )
            .await?;
        let mut resp = self.expect(resp, &[StatusCode::OK], &what).await?;
        let bar = self.bar(d, "pull");
        let mut hasher = Sha256::new();
        let mut got = 0u64;
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| self.broken(&what, describe(&e), e))?
        {
            got += chunk.len() as u64;
            if got > d.size {
                bar.end(false);
                return Err(self.mismatch(&format!(
                    "{what}: the registry sent more than the {} bytes the manifest lists",
                    d.size
                )));
            }
            hasher.update(&chunk);
            sink.write_all(&chunk)
                .map_err(|e| self.protocol(&what, crate::text::io_message(&e)))?;
            bar.advance(chunk.len() as u64);
        }
        bar.end(true);
        let digest = format!("sha256:{}", crate::digest::hex(&hasher.finalize()));
        if got != d.size || digest != d.digest {
            return Err(self.mismatch(&format!(
                "{what}: the registry sent {got} bytes whose digest is {digest}; the manifest lists {} bytes",
                d.size
            )));
        }
        Ok(())
    }

    pub(super) fn bar(&self, d: &Descriptor, verb: &str) -> Box<dyn Transfer> {
        self.opts.observer.transfer(verb, d)
    }

    pub(super) async fn blob_exists(&self, d: &Descriptor) -> Result<bool> {
        let url = self.url(&format!("blobs/{}", d.digest))?;
        let what = format!("HEAD blob {}", d.digest);
        let resp = self
            .send(&what, || self.http.head(url.clone()), true)
            .await?;
        match resp.status() {
            StatusCode::OK => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => Err(self.status_error(resp, &what).await),
        }
    }

    pub(super) async fn push_blob(&self, d: &Descriptor, blob: Blob) -> Result<BlobOutcome> {
        if self.blob_exists(d).await? {
            return Ok(BlobOutcome::Present);
        }
        let mut session = None;
        for from in &self.opts.mount_from {
            match self.mount(d, from).await? {
                Ok(()) => return Ok(BlobOutcome::Mounted),
                // 202: the registry opened an upload session instead; use it.
                Err(Some(location)) => {
                    session = Some(location);
                    break;
                }
                Err(None) => continue,
            }
        }
        let body = blob;
        let bar = self.bar(d, "push");
        let mut attempt = 0;
        let mut chunk = self
            .opts
            .chunk_size
            .unwrap_or(if self.reference.registry == "ghcr.io" {
                SMALL_CHUNK
            } else {
                64 << 20
            });
        loop {
            let result = match session.take() {
                Some(location) => self.upload(d, &body, location, &*bar, chunk).await,
                None => match self.start_upload(d, Some(&body)).await {
                    Ok(None) => Ok(()),
                    Ok(Some(location)) => self.upload(d, &body, location, &*bar, chunk).await,
                    Err(e) => Err(e),
                },
            };
            match result {
                Ok(()) => {
                    bar.end(true);
                    return Ok(BlobOutcome::Uploaded);
                }
                Err(Upload::TooLarge(_)) if chunk > SMALL_CHUNK => {
                    self.opts.observer.note(&format!(
                        "upload {}: body too large; sending 4 MiB chunks",
                        d.digest
                    ));
                    chunk = SMALL_CHUNK;
                    bar.position(0);
                }
                Err(Upload::Retry(_)) if attempt < self.opts.retries => {
                    bar.position(0);
                    tokio::time::sleep(self.opts.backoff * 2u32.pow(attempt)).await;
                    attempt += 1;
                }
                Err(Upload::Retry(e) | Upload::Fatal(e) | Upload::TooLarge(e)) => {
                    bar.end(false);
                    return Err(e);
                }
            }
        }
    }

    /// `Ok(Ok(()))` when mounted; `Ok(Err(location))` when the registry declined and maybe
    /// opened an upload session.
    pub(super) async fn mount(
        &self,
        d: &Descriptor,
        from: &str,
    ) -> Result<std::result::Result<(), Option<Url>>> {
        let mut url = self.url("blobs/uploads/")?;
        url.query_pairs_mut()
            .append_pair("mount", &d.digest)
            .append_pair("from", from);
        let what = format!("mount {} from {from}", d.digest);
        let resp = self
            .send(
                &what,
                || self.http.post(url.clone()).header(CONTENT_LENGTH, 0),
                true,
            )
            .await?;
        match resp.status() {
            StatusCode::CREATED => Ok(Ok(())),
            StatusCode::ACCEPTED => Ok(Err(self.location(resp.headers(), &url).ok())),
            _ => Ok(Err(None)),
        }
    }

    /// The `Location` header, resolved against the request URL (it may be relative).
    pub(super) fn location(&self, headers: &HeaderMap, request: &Url) -> Result<Url> {
        let location = header(headers, LOCATION.as_str())
            .ok_or_else(|| self.fail("the registry opened an upload without a Location header"))?;
        request
            .join(location)
            .map_err(|e| self.fail(&format!("upload Location `{location}`: {e}")))
    }

    /// Opens an upload session and returns its location. A small `body` goes with the POST
    /// (the spec's single-request upload, `?digest=`): a registry that stores it answers 201
    /// and there is nothing left to do (`None`); one that does not answers 202 with a session,
    /// as to a bare POST, and the blob follows with a PUT. One that refuses such a POST
    /// outright (a 4xx other than 401) gets a bare one.
    pub(super) async fn start_upload(
        &self,
        d: &Descriptor,
        body: Option<&bytes::Bytes>,
    ) -> std::result::Result<Option<Url>, Upload> {
        let base = self.url("blobs/uploads/").map_err(Upload::Fatal)?;
        let what = format!("start upload of {}", d.digest);
        if let Some(body) = body.filter(|b| b.len() <= SINGLE_POST) {
            let mut url = base.clone();
            url.query_pairs_mut().append_pair("digest", &d.digest);
            let resp = self
                .send(
                    &what,
                    || {
                        self.http
                            .post(url.clone())
                            .header(CONTENT_TYPE, "application/octet-stream")
                            .timeout(self.opts.deadline_for(body.len() as u64))
                            .body(body.clone())
                    },
                    true,
                )
                .await
                .map_err(Upload::of)?;
            match resp.status() {
                StatusCode::CREATED => return Ok(None),
                StatusCode::ACCEPTED => {
                    return self
                        .location(resp.headers(), &url)
                        .map(Some)
                        .map_err(Upload::Fatal)
                }
                status if status.is_client_error() => {
                    self.opts.observer.note(&format!(
                        "{what}: single-request upload refused ({status}); opening a session"
                    ));
                }
                _ => {
                    let e = self.status_error(resp, &what).await;
                    return Err(Upload::Fatal(e));
                }
            }
        }
        let resp = self
            .send(
                &what,
                || self.http.post(base.clone()).header(CONTENT_LENGTH, 0),
                true,
            )
            .await
            .map_err(Upload::of)?;
        let resp = self
            .expect(resp, &[StatusCode::ACCEPTED], &what)
            .await
            .map_err(Upload::Fatal)?;
        self.location(resp.headers(), &base)
            .map(Some)
            .map_err(Upload::Fatal)
    }

    /// One upload attempt into an open session: one PUT for a small blob, PATCH chunks then a
    /// closing PUT for a large one. A registry that refuses chunks gets the blob whole.
    pub(super) async fn upload(
        &self,
        d: &Descriptor,
        body: &bytes::Bytes,
        mut location: Url,
        bar: &dyn Transfer,
        chunk: usize,
    ) -> std::result::Result<(), Upload> {
        let chunk = chunk.max(1);
        let mut sent = 0usize;
        if body.len() > chunk {
            while sent < body.len() {
                let end = (sent + chunk).min(body.len());
                let piece = body.slice(sent..end);
                let what = format!("upload chunk of {}", d.digest);
                let url = location.clone();
                let resp = self
                    .send(
                        &what,
                        || {
                            self.http
                                .patch(url.clone())
                                .header(CONTENT_TYPE, "application/octet-stream")
                                .header("content-range", format!("{sent}-{}", end - 1))
                                .timeout(self.opts.deadline_for(piece.len() as u64))
                                .body(piece.clone())
                        },
                        false,
                    )
                    .await
                    .map_err(Upload::of)?;
                let status = resp.status();
                if status == StatusCode::ACCEPTED {
                    location = self.location(resp.headers(), &url).map_err(Upload::Fatal)?;
                    sent = end;
                    bar.position(sent as u64);
                    continue;
                }
                if sent == 0 && !RegistryErrorKind::of_status(status.as_u16(), None).retryable() {
                    // No chunked uploads here: send it whole in a fresh session.
                    self.opts.observer.note(&format!(
                        "{what}: chunks refused ({status}); uploading whole"
                    ));
                    location = self
                        .start_upload(d, None)
                        .await?
                        .expect("a bare POST opens a session");
                    break;
                }
                // Refused halfway (a session the registry dropped, a range it lost): a new
                // session starts over, unless it is the credentials that are refused.
                let e = self.status_error(resp, &what).await;
                return Err(match &e {
                    Error::Registry(r)
                        if matches!(
                            r.kind(),
                            RegistryErrorKind::Auth | RegistryErrorKind::Denied
                        ) =>
                    {
                        Upload::Fatal(e)
                    }
                    _ => Upload::Retry(e),
                });
            }
        }
        let mut url = location;
        url.query_pairs_mut().append_pair("digest", &d.digest);
        let what = format!("upload {}", d.digest);
        let rest = if sent == body.len() {
            bytes::Bytes::new()
        } else {
            body.clone()
        };
        let resp = self
            .send(
                &what,
                || {
                    self.http
                        .put(url.clone())
                        .header(CONTENT_TYPE, "application/octet-stream")
                        .timeout(self.opts.deadline_for(rest.len() as u64))
                        .body(rest.clone())
                },
                false,
            )
            .await
            .map_err(Upload::of)?;
        let status = resp.status();
        if status == StatusCode::CREATED {
            bar.position(body.len() as u64);
            return Ok(());
        }
        let e = self.status_error(resp, &what).await;
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            Err(Upload::TooLarge(e))
        } else {
            Err(Upload::of(e))
        }
    }
}

pub(super) enum Upload {
    /// Worth a new session.
    Retry(Error),
    Fatal(Error),
    /// 413: send it again in smaller chunks.
    TooLarge(Error),
}

impl Upload {
    /// A request of an upload failed: worth a new session when the same request may succeed
    /// again (5xx, 429, a connection error), never for refused credentials or another 4xx.
    fn of(e: Error) -> Upload {
        if e.retryable() {
            Upload::Retry(e)
        } else {
            Upload::Fatal(e)
        }
    }
}

/// Blobs up to this size go up with the POST that opens the session (see `start_upload`): a
/// registry that ignores the body costs one resend of a few kilobytes.
const SINGLE_POST: usize = 256 << 10;

/// The chunk size ghcr.io accepts, and the fallback after a 413.
const SMALL_CHUNK: usize = 4 << 20;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploads_start_a_new_session_only_when_it_may_help() {
        let retry = |e: Error| matches!(Upload::of(e), Upload::Retry(_));
        let status = |s: u16| Error::from(RegistryError::status(s, None, "m"));
        assert!(retry(status(500)));
        assert!(retry(status(429)));
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        assert!(retry(RegistryError::transport("cut off", io).into()));
        for s in [400, 401, 403, 404] {
            assert!(!retry(status(s)), "{s}");
        }
        assert!(!retry(Error::Integrity("mismatch".into())));
    }
}

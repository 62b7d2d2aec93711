//! Who signs, chosen in one place for every signing command (`sign`, `attest`, `push`,
//! `build --sign`, `sign-blob`, `rebuild --sign`): a key, a key whose signatures are also
//! logged in an instance's transparency log, or a keyless identity. The command line reads
//! the flags and the key file; the choice, and what follows from it (where signatures go,
//! what is logged, what a bundle holds), lives here.

use super::keyless::{self, InstanceFiles, KeylessSigner, TokenSource};
use super::{bundle, payload, KeySigner, Mode};
use crate::error::{Error, Result};

/// A signer. `K` is the key: [`KeySigner`] once opened, or [`ClosedKey`] before (`push`
/// opens an encrypted key while the module uploads).
pub enum Signing<K = KeySigner> {
    /// A key; signatures stored as `--attach` says, in no log (no instance configured, or
    /// `--tlog-upload=false`).
    Key(K),
    /// A key whose signatures and attestations are also logged in the instance's Rekor v2,
    /// with the timestamp authority's timestamp, as cosign's `--tlog-upload` does: Sigstore
    /// bundles, which `cosign verify --key` accepts without `--insecure-ignore-tlog`.
    KeyLogged(K, keyless::Log),
    /// Keyless: a fresh key and Fulcio certificate per signature, logged; Sigstore bundles.
    Keyless(Box<KeylessSigner>),
}

/// A key as the command line found it: the file read and its password known, not opened yet
/// (an encrypted key's scrypt takes about 0.13 s).
pub struct ClosedKey {
    pub encrypted: bool,
    pub open: Box<dyn FnOnce() -> Result<KeySigner> + Send>,
}

/// What the flags asked for.
pub struct Choice<'a, K> {
    /// The command, for messages (`sign`, `build --sign`).
    pub command: &'a str,
    /// `--attach` as asked: a form the signer cannot store in is refused before a token is
    /// read or anything sent ([`Signing::mode`]).
    pub attach: Mode,
    /// `--key` (`build --sign KEY`, `rebuild --sign KEY`).
    pub key: Option<K>,
    /// `--keyless`, and where its identity token comes from.
    pub keyless: Option<TokenSource>,
    /// `--oidc-client-id`: the audience that token must be for ([`keyless::AUDIENCE`] unless
    /// the instance's Fulcio knows its issuer by another client ID).
    pub audience: &'a str,
    /// `--signing-config`: the instance to sign (and log) with.
    pub instance: InstanceFiles,
    /// `--tlog-upload`, when given: whether a key's signatures are logged. Not given, they
    /// are where an instance with a log is configured (`--signing-config`), as cosign logs
    /// them, and are not elsewhere.
    pub tlog_upload: Option<bool>,
}

impl<K> Signing<K> {
    /// The signer `choice` asks for (none without a key or `--keyless`). A keyless identity's
    /// token and an instance's signing config are resolved now, before anything is sent.
    pub fn choose(choice: Choice<'_, K>) -> Result<Option<Signing<K>>> {
        let Choice {
            command,
            attach,
            key,
            keyless,
            audience,
            instance,
            tlog_upload,
        } = choice;
        match (key, keyless) {
            (Some(_), Some(_)) => Err(Error::Usage(
                "--key and --keyless exclude each other".into(),
            )),
            (None, None) if tlog_upload.is_some() || instance.signing_config.is_some() => {
                Err(Error::Usage(
                    "--signing-config and --tlog-upload go with --key or --keyless".into(),
                ))
            }
            (None, None) => Ok(None),
            (None, Some(_)) if tlog_upload == Some(false) => Err(Error::Usage(
                "--tlog-upload=false is for key signatures: a keyless signature is always logged"
                    .into(),
            )),
            (None, Some(token)) => {
                settle(Kind::Keyless, attach, command)?;
                Ok(Some(Signing::Keyless(Box::new(
                    KeylessSigner::for_audience(&instance, &token, audience)?,
                ))))
            }
            (Some(key), None) => {
                if !tlog_upload.unwrap_or(instance.signing_config.is_some()) {
                    return Ok(Some(Signing::Key(key)));
                }
                match keyless::Log::new(&instance)? {
                    Some(log) => {
                        settle(Kind::KeyLogged, attach, command)?;
                        Ok(Some(Signing::KeyLogged(key, log)))
                    }
                    // A signing config without a log (cosign's offline one): unlogged, as
                    // cosign signs with it, unless a log was asked for.
                    None if tlog_upload.is_none() => Ok(Some(Signing::Key(key))),
                    None => Err(Error::Usage(format!(
                        "--tlog-upload: {} names no transparency log (rekorTlogUrls) valid now",
                        instance.signing_config.as_deref().map_or_else(
                            || "the public-good signing config".into(),
                            |p| p.display().to_string()
                        )
                    ))),
                }
            }
        }
    }

    /// Whether signatures go to a transparency log (and so live in Sigstore bundles).
    pub fn is_logged(&self) -> bool {
        !matches!(self, Signing::Key(_))
    }

    /// Where signatures go for `--attach` `asked`: a logged signature lives in a Sigstore
    /// bundle (cosign v2's `.sig`/`.att` tags have no place for a Rekor v2 entry and its
    /// timestamp), so `auto` means bundles and `tags` is refused. A key's `both` adds unlogged
    /// tags for cosign v2; a keyless signature has nothing to put in them.
    pub fn mode(&self, asked: Mode) -> Result<Mode> {
        let kind = match self {
            Signing::Key(_) => Kind::Key,
            Signing::KeyLogged(..) => Kind::KeyLogged,
            Signing::Keyless(_) => Kind::Keyless,
        };
        settle(kind, asked, "sign")
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Key,
    KeyLogged,
    Keyless,
}

/// [`Signing::mode`] for a signer of `kind`; `command` names the command in a refusal.
fn settle(kind: Kind, asked: Mode, command: &str) -> Result<Mode> {
    let named = |mode: Mode| {
        if mode == Mode::Tags {
            "tags"
        } else {
            "both (or --referrers)"
        }
    };
    match (kind, asked) {
        (Kind::Key, asked) => Ok(asked),
        (_, Mode::Auto | Mode::Bundles) => Ok(Mode::Bundles),
        (Kind::KeyLogged, Mode::Both) => Ok(Mode::Both),
        (Kind::KeyLogged, _) => Err(Error::Usage(format!(
            "{command} --attach tags: cosign v2's .sig/.att tags have no place for a transparency log entry; use --attach bundles or both, or sign unlogged with --tlog-upload=false"
        ))),
        (Kind::Keyless, asked) => Err(Error::Usage(format!(
            "{command} --keyless stores Sigstore bundle referrers only: --attach {} asks for cosign v2's .sig/.att tags, which cannot hold a keyless signature's Rekor v2 entry and timestamp (use --attach bundles, or leave it out)",
            named(asked)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choose(
        key: bool,
        keyless: bool,
        config: Option<&str>,
        tlog_upload: Option<bool>,
        attach: Mode,
    ) -> Result<Option<Signing<()>>> {
        Signing::choose(Choice {
            command: "sign",
            attach,
            key: key.then_some(()),
            keyless: keyless.then(|| TokenSource::Flag("not-a-token".into())),
            audience: keyless::AUDIENCE,
            instance: InstanceFiles {
                signing_config: config.map(Into::into),
                trusted_root: None,
            },
            tlog_upload,
        })
    }

    fn usage(result: Result<Option<Signing<()>>>) -> String {
        match result {
            Err(Error::Usage(message)) => message,
            Err(e) => panic!("not a usage error: {e}"),
            Ok(_) => panic!("accepted"),
        }
    }

    #[test]
    fn a_key_is_logged_only_where_an_instance_with_a_log_is_configured() {
        let offline = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/cosign/signing-config-offline.json"
        );
        for (config, tlog_upload) in [(None, None), (Some(offline), None), (None, Some(false))] {
            let chosen = choose(true, false, config, tlog_upload, Mode::Tags).unwrap();
            assert!(
                matches!(chosen, Some(Signing::Key(()))),
                "{config:?} {tlog_upload:?}"
            );
        }
        // Asked for, a log the config does not name is refused.
        let why = usage(choose(true, false, Some(offline), Some(true), Mode::Auto));
        assert!(why.contains("names no transparency log"), "{why}");
        assert!(choose(false, false, None, None, Mode::Auto)
            .unwrap()
            .is_none());
        let why = usage(choose(false, false, Some(offline), None, Mode::Auto));
        assert!(why.contains("go with --key or --keyless"), "{why}");
    }

    #[test]
    fn keyless_refuses_the_tag_form_and_an_unlogged_signature_before_reading_its_token() {
        // The token is not a JWT: these must fail on the form, never on the token.
        for (attach, named) in [
            (Mode::Tags, "--attach tags"),
            (Mode::Both, "--attach both (or --referrers)"),
        ] {
            let why = usage(choose(false, true, None, None, attach));
            assert!(
                why.starts_with(&format!(
                    "sign --keyless stores Sigstore bundle referrers only: {named}"
                )),
                "{why}"
            );
        }
        let why = usage(choose(false, true, None, Some(false), Mode::Auto));
        assert!(why.contains("always logged"), "{why}");
        assert!(usage(choose(true, true, None, None, Mode::Auto)).contains("exclude"));
    }
}

impl Signing<ClosedKey> {
    /// Whether opening is quick: no key derivation to wait for.
    pub fn opens_at_once(&self) -> bool {
        match self {
            Signing::Key(k) | Signing::KeyLogged(k, _) => !k.encrypted,
            Signing::Keyless(_) => true,
        }
    }

    /// Opens the key (a wrong password fails here).
    pub fn open(self) -> Result<Signing> {
        Ok(match self {
            Signing::Key(k) => Signing::Key((k.open)()?),
            Signing::KeyLogged(k, log) => Signing::KeyLogged((k.open)()?, log),
            Signing::Keyless(s) => Signing::Keyless(s),
        })
    }
}

/// A blob's signature: what `sign-blob` prints and writes.
#[derive(Debug, Clone)]
pub struct BlobSigned {
    /// The signature, base64 (as cosign prints it).
    pub signature: String,
    /// The Sigstore bundle (v0.3, message signature).
    pub bundle: Vec<u8>,
    /// A keyless signature's certificate identity and OIDC issuer.
    pub identity: Option<(String, String)>,
}

impl Signing {
    /// The key, for cosign v2's tag form (never keyless: [`Signing::mode`] gives keyless
    /// signers bundles only).
    pub fn key(&self) -> Option<&KeySigner> {
        match self {
            Signing::Key(k) | Signing::KeyLogged(k, _) => Some(k),
            Signing::Keyless(_) => None,
        }
    }

    /// A Sigstore bundle (DSSE envelope) over each in-toto statement, in order; logged ones
    /// are logged at once.
    pub(super) fn bundles(&self, statements: &[Vec<u8>]) -> Result<Vec<Vec<u8>>> {
        let pae = |statement: &[u8]| payload::pae(payload::IN_TOTO, statement);
        match self {
            Signing::Key(key) => Ok(statements
                .iter()
                .map(|s| bundle::dsse(s, &key.sign(&pae(s)), &key.key_hint()))
                .collect()),
            Signing::KeyLogged(key, log) => {
                let signed: Vec<(Vec<u8>, Vec<u8>)> = statements
                    .iter()
                    .map(|s| (s.clone(), key.sign_hedged(&pae(s))))
                    .collect();
                log.dsse_bundles(key.0.verifying_key(), &signed)
            }
            Signing::Keyless(signer) => Ok(signer
                .sign_statements(statements)?
                .into_iter()
                .map(|b| b.json)
                .collect()),
        }
    }

    /// Signs a blob (`sign-blob`): its signature and its bundle.
    pub fn sign_blob(&self, bytes: &[u8]) -> Result<BlobSigned> {
        match self {
            Signing::Key(key) => {
                let der = key.sign(bytes);
                Ok(BlobSigned {
                    signature: payload::b64(&der),
                    bundle: bundle::message(bytes, &der, &key.key_hint()),
                    identity: None,
                })
            }
            Signing::KeyLogged(key, log) => {
                let der = key.sign_hedged(bytes);
                Ok(BlobSigned {
                    signature: payload::b64(&der),
                    bundle: log.message_bundle(key.0.verifying_key(), bytes, &der)?,
                    identity: None,
                })
            }
            Signing::Keyless(signer) => {
                let signed = signer.sign_blob(bytes)?;
                let signature = serde_json::from_slice::<serde_json::Value>(&signed.json)
                    .ok()
                    .and_then(|v| {
                        v["messageSignature"]["signature"]
                            .as_str()
                            .map(str::to_string)
                    })
                    .unwrap_or_default();
                Ok(BlobSigned {
                    signature,
                    bundle: signed.json,
                    identity: Some((signed.identity, signed.issuer)),
                })
            }
        }
    }
}

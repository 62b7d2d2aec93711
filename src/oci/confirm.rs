//! Appending to a document under a tag (cosign's `sha256-HEX.sig` and `.att` manifests, the
//! referrers fallback index `sha256-HEX`) on a registry that has no compare-and-swap.
//!
//! A writer reads the tag, adds its entries and writes the result; a second writer that read
//! before the first one's write drops the first one's entries when it writes. No read-back
//! can exclude that against a writer that stalls for long enough, so this loop makes two
//! promises instead, which hold between wasipack writers whose reads of the registry take
//! about as long:
//!
//! - **The watcher**: after its last write, a writer reads the tag every [`POLL`] until it has
//!   held the same manifest, with every entry of ours, for [`Windows::watch`] (at least
//!   1.25 s). An entry of ours missing is merged in again, with a random pause so that writers
//!   do not move in step. A writer that cannot get there (16 writes, or a minute) fails.
//! - **The eraser**: the read-modify-write window is shrunk to one read right before the PUT
//!   (the blobs of the next version are stored before it). If the time from that read's
//!   request to the PUT's answer exceeds [`Windows::guard`] (at least 1 s, below `watch`), an
//!   entry that another writer added meanwhile may be gone with its writer no longer
//!   watching: the write is reported as unconfirmed, a typed error, even though our own
//!   entries are in the tag.
//!
//! Between them, a lost entry is either restored by its writer or reported by the writer
//! that replaced it; a writer that is not wasipack (cosign v2 reads once and writes once) is
//! covered by neither. Referrers (one manifest per signature, no shared tag) have no such race.

use super::artifact::Artifact;
use super::remote::Fetched;
use super::store::Store;
use crate::error::{Error, RegistryError, RegistryErrorKind, Result};
use std::time::{Duration, Instant};

/// How often a watching writer reads the tag.
pub const POLL: Duration = Duration::from_millis(100);
/// Writes of the tag a writer makes at most.
pub const MAX_WRITES: usize = 16;
/// How long a writer keeps trying to get its entries confirmed.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// A document under a tag that entries are appended to.
pub trait Appendable {
    /// Whether `current` (the tag's manifest, `None` when the tag does not exist) already
    /// holds every entry of ours.
    fn holds(&self, current: Option<&[u8]>) -> bool;
    /// The next version: `current` with our entries added. Its blobs (other than the
    /// manifest itself) must be stored before it is returned.
    fn next(&self, store: &Store, current: Option<&[u8]>) -> Result<Artifact>;
}

/// What a read of the tag found, and when.
#[derive(Clone)]
pub struct Seen {
    manifest: Option<Fetched>,
    /// When the read was sent, and when its answer came.
    sent: Instant,
    received: Instant,
}

impl Seen {
    fn digest(&self) -> Option<&str> {
        self.manifest.as_ref().map(|f| f.digest.as_str())
    }

    fn bytes(&self) -> Option<&[u8]> {
        self.manifest.as_ref().map(|f| f.bytes.as_slice())
    }

    fn took(&self) -> Duration {
        self.received - self.sent
    }
}

/// Reads the tag.
pub fn look(store: &Store, tag: &str) -> Result<Seen> {
    let sent = Instant::now();
    let manifest = store.manifest(tag)?;
    Ok(Seen {
        manifest,
        sent,
        received: Instant::now(),
    })
}

/// The tag read, and the next version (its blobs stored), or `None` when the tag already holds
/// our entries: what [`append`] starts from. Made ahead of time by `push --key`, whose
/// signature tags are written while the module uploads.
pub struct Prepared {
    pub tag: String,
    seen: Seen,
    next: Option<Artifact>,
}

/// Reads `tag` and stores the blobs of its next version.
pub fn prepare(store: &Store, tag: &str, doc: &dyn Appendable) -> Result<Prepared> {
    stage(store, tag, doc, look(store, tag)?)
}

/// [`prepare`] from a read made already.
pub fn stage(store: &Store, tag: &str, doc: &dyn Appendable, seen: Seen) -> Result<Prepared> {
    let next = if doc.holds(seen.bytes()) {
        None
    } else {
        Some(doc.next(store, seen.bytes())?)
    };
    Ok(Prepared {
        tag: tag.to_string(),
        seen,
        next,
    })
}

/// How long a writer watches the tag after its write, and how long its own read-to-answer
/// interval may take before it cannot vouch for other writers' entries; both scale with the
/// registry's fastest manifest read, so that a slow registry does not turn every write into
/// a doubt.
#[derive(Debug, Clone, Copy)]
pub struct Windows {
    pub watch: Duration,
    pub guard: Duration,
}

impl Windows {
    pub fn for_read_time(fastest_read: Duration) -> Windows {
        let guard = Duration::from_secs(1).max(fastest_read * 8);
        Windows {
            guard,
            watch: guard + Duration::from_millis(250).max(fastest_read * 2),
        }
    }
}

/// What [`append`] left under the tag.
pub struct Appended {
    pub tag: String,
    /// The manifest now under the tag, with our entries.
    pub manifest: Option<Vec<u8>>,
    /// The writes it took (0 when our entries were there already).
    pub writes: usize,
}

/// Adds our entries to the document under `prepared.tag`, as the module documentation
/// describes, starting from `prepared`. In an image layout (one writer at a time) it writes
/// and reads back once.
pub fn append(store: &Store, doc: &dyn Appendable, prepared: Prepared) -> Result<Appended> {
    let started = Instant::now();
    let tag = prepared.tag.clone();
    let remote = matches!(store, Store::Remote(_));
    let mut fastest = prepared.seen.took();
    let mut prepared = prepared;
    let mut writes = 0;
    let mut round = 0u64;
    let mut slowest_write: Option<Duration> = None;
    let mut last_error = None;
    loop {
        if started.elapsed() > DEADLINE || writes >= MAX_WRITES {
            return Err(unconfirmed(
                store,
                &tag,
                format!(
                    "other writers kept replacing it; our entries were not kept after {writes} \
                     writes in {:.1} s{}",
                    started.elapsed().as_secs_f64(),
                    last_error
                        .map(|e| format!(" (last error: {e})"))
                        .unwrap_or_default()
                ),
            ));
        }
        if let Some(artifact) = &prepared.next {
            // The window: one read right before the write. A tag that moved since the
            // version was made is merged again first.
            let before = if remote {
                let before = look(store, &tag)?;
                fastest = fastest.min(before.took());
                if before.digest() != prepared.seen.digest() {
                    prepared = stage(store, &tag, doc, before)?;
                    continue;
                }
                before.sent
            } else {
                Instant::now()
            };
            round += 1;
            match store.put_manifest(artifact, Some(&tag)) {
                Ok(_) => writes += 1,
                Err(e) if another_round(&e) => {
                    last_error = Some(e.to_string());
                    writes += 1; // it may have landed
                    std::thread::sleep(Duration::from_millis(20 + jitter(100)));
                    prepared = prepare(store, &tag, doc)?;
                    continue;
                }
                Err(e) => return Err(e),
            }
            let took = before.elapsed();
            if took > Windows::for_read_time(fastest).guard {
                slowest_write = Some(slowest_write.map_or(took, |s| s.max(took)));
            }
            prepared = prepare(store, &tag, doc)?;
            if !remote && prepared.next.is_some() {
                return Err(unconfirmed(
                    store,
                    &tag,
                    "our entries are missing right after our write".into(),
                ));
            }
            continue;
        }
        // Our entries are under the tag.
        if writes == 0 || !remote {
            break;
        }
        fastest = fastest.min(prepared.seen.took());
        match watch(store, &tag, &prepared.seen, Windows::for_read_time(fastest))? {
            None => break,
            Some(seen) => {
                fastest = fastest.min(seen.took());
                prepared = stage(store, &tag, doc, seen)?;
                if prepared.next.is_some() {
                    // Another writer dropped ours: pause a little, so that writers that
                    // noticed together do not write together again.
                    std::thread::sleep(Duration::from_millis(jitter(20 + 20 * round.min(10))));
                }
            }
        }
    }
    if let Some(took) = slowest_write {
        let windows = Windows::for_read_time(fastest);
        return Err(unconfirmed(
            store,
            &tag,
            format!(
                "our write took {:.1} s from reading the tag to the registry's answer, longer \
                 than the {:.1} s other writers are sure to watch it for: an entry another \
                 writer added meanwhile may have been replaced (ours is in the tag; check the others, or \
                 store signatures as referrers, which have no such race)",
                took.as_secs_f64(),
                windows.guard.as_secs_f64(),
            ),
        ));
    }
    Ok(Appended {
        tag,
        manifest: prepared.seen.manifest.map(|f| f.bytes),
        writes,
    })
}

/// Reads the tag every [`POLL`] until it has held what `seen` found for `windows.watch`
/// (counted from the answer to `seen` to the request of the last read): `None` then, or what
/// it holds as soon as that changes.
fn watch(store: &Store, tag: &str, seen: &Seen, windows: Windows) -> Result<Option<Seen>> {
    let since = seen.received;
    loop {
        let wait = (since + windows.watch).saturating_duration_since(Instant::now());
        std::thread::sleep(wait.min(POLL));
        let now = look(store, tag)?;
        if now.digest() != seen.digest() {
            return Ok(Some(now));
        }
        if now.sent >= since + windows.watch {
            return Ok(None);
        }
    }
}

fn unconfirmed(store: &Store, tag: &str, why: String) -> Error {
    let error = RegistryError::new(RegistryErrorKind::Unconfirmed, format!("{tag}: {why}"));
    match store {
        Store::Remote(r) => error.at(r.reference().to_string()).into(),
        Store::Layout(l) => error.at(l.root.display().to_string()).into(),
    }
}

/// Whether a refused write of the tag is worth another round: what a racing writer causes,
/// or what may pass by itself. Distribution 2.8 rewrites a blob's link file in place when a
/// second writer uploads the same blob, and a manifest check that reads it half-written
/// answers `DIGEST_INVALID`; 5xx, 429 and connection errors may pass too. Refused or missing
/// credentials (401, 403), a missing repository or blob (404) and other refusals would fail
/// the same way again: they end it.
pub fn another_round(e: &Error) -> bool {
    match e {
        Error::Registry(r) => r.code() == Some("DIGEST_INVALID") || r.retryable(),
        _ => false,
    }
}

fn jitter(max: u64) -> u64 {
    let mut b = [0u8; 8];
    getrandom::getrandom(&mut b).expect("the OS random source works");
    u64::from_le_bytes(b) % max.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, code: Option<&str>) -> Error {
        RegistryError::status(status, code.map(str::to_string), "refused")
            .at("127.0.0.1:5000/demo/hello")
            .during("PUT manifest sha256-00.sig")
            .into()
    }

    #[test]
    fn a_write_goes_again_after_a_race_or_a_passing_failure() {
        assert!(another_round(&answer(400, Some("DIGEST_INVALID"))));
        assert!(another_round(&answer(500, None)));
        assert!(another_round(&answer(503, Some("UNAVAILABLE"))));
        assert!(another_round(&answer(429, Some("TOOMANYREQUESTS"))));
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        assert!(another_round(
            &RegistryError::transport("error sending request", io).into()
        ));
    }

    #[test]
    fn a_write_stops_at_refused_credentials_and_other_refusals() {
        for (status, code) in [
            (401, Some("UNAUTHORIZED")),
            (401, None),
            (403, Some("DENIED")),
            (404, Some("NAME_UNKNOWN")),
            (400, Some("MANIFEST_BLOB_UNKNOWN")),
            (400, Some("MANIFEST_INVALID")),
            (413, None),
        ] {
            assert!(!another_round(&answer(status, code)), "{status} {code:?}");
        }
        let helper = RegistryError::new(RegistryErrorKind::Auth, "helper failed").into();
        assert!(!another_round(&helper));
        assert!(!another_round(&Error::registry("not JSON")));
        assert!(!another_round(&Error::Integrity("mismatch".into())));
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied");
        assert!(!another_round(&Error::Write {
            path: "layout/index.json".into(),
            source: io,
        }));
    }

    #[test]
    fn the_watch_outlasts_the_guard_at_every_registry_speed() {
        for ms in [0, 1, 40, 125, 200, 1000, 5000] {
            let w = Windows::for_read_time(Duration::from_millis(ms));
            assert!(w.watch > w.guard, "{ms} ms: {w:?}");
            assert!(w.guard >= Duration::from_secs(1), "{ms} ms: {w:?}");
            assert!(w.guard >= Duration::from_millis(ms) * 8, "{ms} ms: {w:?}");
        }
    }
}

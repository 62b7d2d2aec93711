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
//!   [`WATCH_FLOOR`]). An entry of ours missing is merged in again, with a random pause so
//!   that writers do not move in step. A writer that cannot get there (16 writes, or a
//!   minute) fails.
//! - **The eraser**: the read-modify-write window is shrunk to one read right before the PUT
//!   (the blobs of the next version are stored before it). If the time from that read's
//!   request to the PUT's answer exceeds [`Windows::guard`] (at least [`GUARD_FLOOR`], below
//!   every other writer's `watch`), an entry that another writer added meanwhile may be gone
//!   with its writer no longer watching: the write is reported as unconfirmed, a typed
//!   error, even though our own entries are in the tag.
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

/// How long a writer watches the tag after its write ([`Windows::watch`]), and how long its
/// own read-to-answer interval may take before it cannot vouch for other writers' entries
/// ([`Windows::guard`]). A loss goes unseen only if a writer's write lands more than the
/// other's watch after the other's write, with its own interval within its guard: so every
/// writer's guard must stay below every other writer's watch. Both are a floor, agreed by
/// every writer, or a multiple of the registry's fastest manifest read of the run (a slow
/// registry makes every write slower), the watch's a larger one: two writers whose fastest
/// reads are less than 1.5x apart, or under 81 ms, agree. The guard's floor is over twice the
/// slowest honest write window seen with tests/trust.rs on 16 threads beside two busy loops
/// on two cores (0.25 s; docs/architecture.md), the watch's 50 ms above it.
#[derive(Debug, Clone, Copy)]
pub struct Windows {
    pub watch: Duration,
    pub guard: Duration,
}

/// The least a writer watches for.
pub const WATCH_FLOOR: Duration = Duration::from_millis(650);
/// The least a writer's read-to-answer interval may take before it reports.
pub const GUARD_FLOOR: Duration = Duration::from_millis(600);

impl Windows {
    pub fn for_read_time(fastest_read: Duration) -> Windows {
        Windows {
            guard: GUARD_FLOOR.max(fastest_read * 8),
            watch: WATCH_FLOOR.max(fastest_read * 12),
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
    Ok(append_all(store, vec![(doc, prepared)])?.remove(0))
}

/// [`append`] for several tags at once, on one thread: each is written in turn, and all are
/// watched together, so that their watch windows overlap instead of adding up.
pub fn append_all(store: &Store, jobs: Vec<(&dyn Appendable, Prepared)>) -> Result<Vec<Appended>> {
    let started = Instant::now();
    let remote = matches!(store, Store::Remote(_));
    let mut jobs: Vec<Job> = jobs
        .into_iter()
        .map(|(doc, prepared)| Job {
            doc,
            fastest: prepared.seen.took(),
            tag: prepared.tag.clone(),
            prepared,
            writes: 0,
            round: 0,
            slowest_write: None,
            last_error: None,
            done: false,
        })
        .collect();
    loop {
        let mut pending = false;
        let mut writing = false;
        let mut next_poll = POLL;
        for job in jobs.iter_mut().filter(|j| !j.done) {
            if started.elapsed() > DEADLINE || job.writes >= MAX_WRITES {
                return Err(job.kept_replacing(store, started));
            }
            if job.prepared.next.is_some() {
                job.write(store, remote)?;
                pending = true;
                writing = true;
                continue;
            }
            // Our entries are under the tag.
            if job.writes == 0 || !remote {
                job.done = true;
                continue;
            }
            job.fastest = job.fastest.min(job.prepared.seen.took());
            let windows = Windows::for_read_time(job.fastest);
            let since = job.prepared.seen.received;
            let now = look(store, &job.tag)?;
            if now.digest() != job.prepared.seen.digest() {
                pending = true;
                job.fastest = job.fastest.min(now.took());
                job.prepared = stage(store, &job.tag, job.doc, now)?;
                if job.prepared.next.is_some() {
                    // Another writer dropped ours: pause a little, so that writers that
                    // noticed together do not write together again.
                    let round = job.round.min(10);
                    std::thread::sleep(Duration::from_millis(jitter(20 + 20 * round)));
                }
                continue;
            }
            if now.sent >= since + windows.watch {
                // Confirmed: no sleep for this one (the loop ends when no tag is pending).
                job.done = true;
                continue;
            }
            pending = true;
            next_poll =
                next_poll.min((since + windows.watch).saturating_duration_since(Instant::now()));
        }
        if !pending {
            break;
        }
        if !writing {
            std::thread::sleep(next_poll);
        }
    }
    let mut done = Vec::new();
    for job in jobs {
        if let Some(took) = job.slowest_write {
            let windows = Windows::for_read_time(job.fastest);
            return Err(unconfirmed(
                store,
                &job.tag,
                format!(
                    "our write took {:.1} s from reading the tag to the registry's answer, \
                     longer than the {:.1} s other writers are sure to watch it for: an entry \
                     another writer added meanwhile may have been replaced (ours is in the tag; \
                     check the others, or store signatures as referrers, which have no such \
                     race)",
                    took.as_secs_f64(),
                    windows.guard.as_secs_f64(),
                ),
            ));
        }
        done.push(Appended {
            tag: job.tag,
            manifest: job.prepared.seen.manifest.map(|f| f.bytes),
            writes: job.writes,
        });
    }
    Ok(done)
}

/// One tag [`append_all`] appends to.
struct Job<'a> {
    doc: &'a dyn Appendable,
    tag: String,
    prepared: Prepared,
    /// The fastest read of the tag so far.
    fastest: Duration,
    writes: usize,
    round: u64,
    slowest_write: Option<Duration>,
    last_error: Option<String>,
    done: bool,
}

impl Job<'_> {
    /// Writes the prepared next version, in the shortest window: one read right before the
    /// write (a tag that moved since the version was made is merged again first, without a
    /// write), then the write, then a read of what it left.
    fn write(&mut self, store: &Store, remote: bool) -> Result<()> {
        let Some(artifact) = &self.prepared.next else {
            return Ok(());
        };
        let tag = &self.tag;
        let before = if remote {
            let before = look(store, tag)?;
            self.fastest = self.fastest.min(before.took());
            if before.digest() != self.prepared.seen.digest() {
                self.prepared = stage(store, tag, self.doc, before)?;
                return Ok(());
            }
            before.sent
        } else {
            Instant::now()
        };
        self.round += 1;
        match store.put_manifest(artifact, Some(tag)) {
            Ok(_) => self.writes += 1,
            Err(e) if another_round(&e) => {
                self.last_error = Some(e.to_string());
                self.writes += 1; // it may have landed
                std::thread::sleep(Duration::from_millis(20 + jitter(100)));
                self.prepared = prepare(store, tag, self.doc)?;
                return Ok(());
            }
            Err(e) => return Err(e),
        }
        let took = before.elapsed();
        if took > Windows::for_read_time(self.fastest).guard {
            self.slowest_write = Some(self.slowest_write.map_or(took, |s| s.max(took)));
        }
        self.prepared = prepare(store, tag, self.doc)?;
        if !remote && self.prepared.next.is_some() {
            return Err(unconfirmed(
                store,
                tag,
                "our entries are missing right after our write".into(),
            ));
        }
        Ok(())
    }

    fn kept_replacing(&self, store: &Store, started: Instant) -> Error {
        unconfirmed(
            store,
            &self.tag,
            format!(
                "other writers kept replacing it; our entries were not kept after {} writes in \
                 {:.1} s{}",
                self.writes,
                started.elapsed().as_secs_f64(),
                self.last_error
                    .as_ref()
                    .map(|e| format!(" (last error: {e})"))
                    .unwrap_or_default()
            ),
        )
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
        for ms in [0, 1, 40, 80, 81, 125, 200, 1000, 5000] {
            let w = Windows::for_read_time(Duration::from_millis(ms));
            assert!(w.guard >= GUARD_FLOOR, "{ms} ms: {w:?}");
            assert!(w.guard >= Duration::from_millis(ms) * 8, "{ms} ms: {w:?}");
            // Another writer whose fastest read is under 1.5x ours, or under 81 ms, stops
            // vouching for its writes before we stop watching.
            let slower = Duration::from_millis(ms) * 7 / 5;
            for other in [Duration::ZERO, Duration::from_millis(81), slower] {
                let theirs = Windows::for_read_time(other);
                assert!(
                    w.watch > theirs.guard,
                    "{ms} ms vs {other:?}: {w:?} {theirs:?}"
                );
            }
        }
    }
}

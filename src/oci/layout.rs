//! An OCI image layout directory (`oci-layout`, `index.json`, `blobs/sha256/...`), as oras,
//! crane and skopeo read it. Blobs are written to a temporary name and renamed; `index.json`
//! is replaced atomically, so a reader never sees a manifest whose blobs are missing.

use super::artifact::{to_bytes, Artifact, Descriptor};
use super::model::{self, ImageIndex, OciDescriptor};
use crate::error::{Error, Result};
use crate::fsio::write_atomic;
use std::path::{Path, PathBuf};

pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

#[derive(Debug, Clone)]
pub struct Layout {
    pub root: PathBuf,
}

impl Layout {
    /// Opens the layout at `root`, creating it if needed.
    pub fn create(root: &Path) -> Result<Layout> {
        let write = |path: &Path, source| Error::Write {
            path: path.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(root.join("blobs/sha256")).map_err(|e| write(root, e))?;
        let marker = root.join("oci-layout");
        if !marker.exists() {
            write_atomic(&marker, LAYOUT_MARKER)?;
        }
        let index = root.join("index.json");
        if !index.exists() {
            write_atomic(&index, &to_bytes(&empty_index()))?;
        }
        Ok(Layout {
            root: root.to_path_buf(),
        })
    }

    pub fn blob_path(&self, digest: &str) -> PathBuf {
        self.root
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"))
    }

    /// A blob's file, mapped, once its size and SHA-256 match `d`.
    pub fn checked_blob(&self, d: &Descriptor) -> Result<crate::fsio::Input> {
        let bytes = self.sized_blob(d)?;
        self.check_hex(d, &bytes, &crate::digest::sha256_hex(&bytes))?;
        Ok(bytes)
    }

    /// A blob's file, mapped, once its size matches `d`; its digest is the caller's to check
    /// ([`Layout::check_digest`]).
    pub fn sized_blob(&self, d: &Descriptor) -> Result<crate::fsio::Input> {
        // A digest that is not `sha256:` and 64 hex digits could name a path elsewhere.
        model::check_digest(&d.digest)
            .map_err(|e| Error::Input(format!("{}: {e}", self.root.display())))?;
        let path = self.blob_path(&d.digest);
        // Size and kind first: a blob that is a device or a FIFO, or larger than the
        // descriptor says, is never read.
        let meta = std::fs::metadata(&path).map_err(|source| Error::Read {
            path: path.clone(),
            source,
        })?;
        if !meta.is_file() {
            return Err(self.not_a_file(&d.digest));
        }
        self.check_inside(&path, &d.digest)?;
        if meta.len() != d.size {
            return Err(self.corrupt(d, meta.len() as usize, None));
        }
        let bytes = crate::fsio::read_input(&path)?;
        if bytes.len() as u64 != d.size {
            return Err(self.corrupt(d, bytes.len(), None));
        }
        Ok(bytes)
    }

    /// The bytes of the manifest (or index) stored as blob `digest`, `None` when it is not
    /// there. Only a regular file of at most [`model::MAX_MANIFEST`] bytes is read.
    pub fn manifest_bytes(&self, digest: &str) -> Result<Option<Vec<u8>>> {
        model::check_digest(digest)
            .map_err(|e| Error::Input(format!("{}: {e}", self.root.display())))?;
        let path = self.blob_path(digest);
        let meta = match std::fs::metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(Error::Read { path, source }),
        };
        if !meta.is_file() {
            return Err(self.not_a_file(digest));
        }
        self.check_inside(&path, digest)?;
        if meta.len() > model::MAX_MANIFEST {
            return Err(Error::Input(format!(
                "{}: manifest {digest} has {} bytes, more than the {} a manifest may have",
                self.root.display(),
                meta.len(),
                model::MAX_MANIFEST
            )));
        }
        crate::fsio::read_bounded(&path, model::MAX_MANIFEST)
            .map(Some)
            .map_err(|source| Error::Read { path, source })
    }

    /// A blob that is a symbolic link is read only when it leads to a file inside the
    /// layout: one leading out would make the layout an oracle (size, digest) for any
    /// readable file.
    fn check_inside(&self, path: &Path, digest: &str) -> Result<()> {
        let link = std::fs::symlink_metadata(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        if !link.file_type().is_symlink() {
            return Ok(());
        }
        let inside = match (
            std::fs::canonicalize(path),
            std::fs::canonicalize(&self.root),
        ) {
            (Ok(target), Ok(root)) => target.starts_with(root),
            _ => false,
        };
        if inside {
            Ok(())
        } else {
            Err(Error::Input(format!(
                "{}: blob {digest} is a symbolic link that leads out of the layout",
                self.root.display()
            )))
        }
    }

    fn not_a_file(&self, digest: &str) -> Error {
        Error::Input(format!(
            "{}: blob {digest} is not a regular file",
            self.root.display()
        ))
    }

    /// Whether `bytes`, read from this layout's blob `d`, hash to its digest.
    pub fn check_digest(&self, d: &Descriptor, bytes: &[u8]) -> Result<()> {
        self.check_hex(d, bytes, &crate::digest::sha256_hex(bytes))
    }

    fn check_hex(&self, d: &Descriptor, bytes: &[u8], hex: &str) -> Result<()> {
        if d.digest.strip_prefix("sha256:") == Some(hex) {
            Ok(())
        } else {
            Err(self.corrupt(d, bytes.len(), Some(&format!("sha256:{hex}"))))
        }
    }

    fn corrupt(&self, d: &Descriptor, len: usize, actual: Option<&str>) -> Error {
        let digest = actual
            .map(|a| format!(" whose digest is {a}"))
            .unwrap_or_default();
        Error::Integrity(format!(
            "{}: blob {} holds {len} bytes{digest}; the manifest lists {} bytes",
            self.root.display(),
            d.digest,
            d.size
        ))
    }

    /// Stores a blob unless it is there already; returns whether it was written.
    pub fn put_blob(&self, descriptor: &Descriptor, bytes: &[u8]) -> Result<bool> {
        let path = self.blob_path(&descriptor.digest);
        if path.exists() {
            return Ok(false);
        }
        write_atomic(&path, bytes)?;
        Ok(true)
    }

    /// Stores an artifact's blobs and manifest, then lists it in `index.json`: under `tag`
    /// (moving the tag off any other manifest), or untagged for referrers.
    pub fn add(&self, artifact: &Artifact, tag: Option<&str>) -> Result<Descriptor> {
        let mut entries = self.add_all(&[(artifact, tag)])?;
        Ok(entries.pop().expect("one entry per artifact"))
    }

    /// [`Layout::add`] for many artifacts: `index.json` is read, pruned and replaced once,
    /// whatever their number. They are listed as adding them one after the other lists them
    /// ([`add_all_to_index`]); orphans are pruned once, from the result, so a referrer whose
    /// subject loses its tag and gets another within the batch stays. Returns their entries,
    /// in order.
    pub fn add_all(&self, artifacts: &[(&Artifact, Option<&str>)]) -> Result<Vec<Descriptor>> {
        // `index.json` is read, changed and replaced: one writer at a time in this process.
        static WRITER: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _one = WRITER.lock().unwrap_or_else(|e| e.into_inner());
        for (artifact, _) in artifacts {
            for (descriptor, bytes) in &artifact.blobs {
                self.put_blob(descriptor, bytes)?;
            }
            self.put_blob(&artifact.descriptor, &artifact.manifest)?;
        }
        let mut index = self.index()?;
        let entries = add_all_to_index(&mut index, artifacts);
        prune_orphan_referrers(&mut index, |d| stored_subject(&self.root, d));
        write_index(&self.root.join("index.json"), &to_bytes(&index))?;
        Ok(entries)
    }

    /// The parsed `index.json`, or an empty index when the layout does not exist yet.
    pub fn index_or_empty(root: &Path) -> Result<ImageIndex> {
        if root.join("index.json").exists() {
            Layout {
                root: root.to_path_buf(),
            }
            .index()
        } else {
            Ok(empty_index())
        }
    }

    /// The parsed `index.json`, every digest in it checked.
    pub fn index(&self) -> Result<ImageIndex> {
        let path = self.root.join("index.json");
        let text = crate::fsio::read_limited(&path, crate::fsio::DOCUMENT_LIMIT)?;
        model::parse_index(&text)
            .map_err(|e| Error::Input(format!("{}: not an OCI index: {e}", path.display())))
    }

    /// The entries of `index.json` as descriptors.
    pub fn entries(&self) -> Result<Vec<Descriptor>> {
        model::entries(&self.index()?).map_err(|e| {
            Error::Input(format!(
                "{}: not an OCI index: {e}",
                self.root.join("index.json").display()
            ))
        })
    }

    /// The descriptor tagged `tag`.
    pub fn resolve(&self, tag: &str) -> Result<Option<Descriptor>> {
        Ok(self.entries()?.into_iter().find(|d| tag_of(d) == Some(tag)))
    }
}

/// The tag (`org.opencontainers.image.ref.name`) an index entry carries, if any.
pub fn tag_of(d: &Descriptor) -> Option<&str> {
    d.annotations.get(REF_NAME).map(String::as_str)
}

fn ref_name(d: &OciDescriptor) -> Option<&str> {
    d.annotations()
        .as_ref()
        .and_then(|a| a.get(REF_NAME))
        .map(String::as_str)
}

pub fn empty_index() -> ImageIndex {
    model::index(&[])
}

/// The `oci-layout` marker file's contents.
pub const LAYOUT_MARKER: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;

/// Lists an artifact in `index`: under `tag` (moving the tag off any other manifest), or
/// untagged for referrers. Returns the entry.
pub fn add_to_index(index: &mut ImageIndex, artifact: &Artifact, tag: Option<&str>) -> Descriptor {
    let mut entries = add_all_to_index(index, &[(artifact, tag)]);
    entries.pop().expect("one entry per artifact")
}

/// [`add_to_index`] for many artifacts in one pass over `index`, with the result of adding
/// them one after the other: an entry listed again (same digest and tag) moves to the end,
/// a tag ends on the last artifact given it. Returns the entries, in the order given.
pub fn add_all_to_index(
    index: &mut ImageIndex,
    artifacts: &[(&Artifact, Option<&str>)],
) -> Vec<Descriptor> {
    use std::collections::{HashMap, HashSet};
    let entries: Vec<Descriptor> = artifacts
        .iter()
        .map(|(artifact, tag)| {
            let mut entry = artifact.descriptor.clone();
            if let Some(tag) = tag {
                entry.annotations.insert(REF_NAME.into(), tag.to_string());
            }
            entry
        })
        .collect();
    // The last addition of each (digest, tag), and of each tag, is the one that stays.
    let mut last_same: HashMap<(&str, Option<&str>), usize> = HashMap::new();
    let mut last_tag: HashMap<&str, usize> = HashMap::new();
    for (n, (artifact, tag)) in artifacts.iter().enumerate() {
        last_same.insert((artifact.descriptor.digest.as_str(), *tag), n);
        if let Some(tag) = tag {
            last_tag.insert(tag, n);
        }
    }
    let tags: HashSet<&str> = last_tag.keys().copied().collect();
    let mut manifests = index.manifests().clone();
    manifests.retain(|m| {
        let same = last_same.contains_key(&(m.digest().as_ref(), ref_name(m)));
        let tag_moves = ref_name(m).is_some_and(|t| tags.contains(t));
        !same && !tag_moves
    });
    for (n, (entry, (artifact, tag))) in entries.iter().zip(artifacts).enumerate() {
        let kept = last_same[&(artifact.descriptor.digest.as_str(), *tag)] == n
            && tag.is_none_or(|t| last_tag[t] == n);
        if kept {
            manifests.push(model::oci(entry));
        }
    }
    index.set_manifests(manifests);
    entries
}

#[cfg(test)]
thread_local! {
    /// How many times this thread replaced an `index.json`.
    pub static INDEX_WRITES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

fn write_index(path: &Path, bytes: &[u8]) -> Result<()> {
    #[cfg(test)]
    INDEX_WRITES.with(|n| n.set(n.get() + 1));
    write_atomic(path, bytes)
}

/// Drops untagged referrers (SBOMs, later signatures) whose subject is no longer listed, as
/// happens when a tag moves to a new build. `subject_of` gives a manifest's `subject` digest.
/// Blobs stay: they are content-addressed and harmless, and another tag may share them.
pub fn prune_orphan_referrers(index: &mut ImageIndex, subject_of: impl Fn(&str) -> Option<String>) {
    use std::collections::HashMap;
    let manifests = index.manifests();
    // How many entries list each digest (an index may list one twice), and which untagged
    // entries hang from each subject. Each manifest's subject is read once.
    let mut listed: HashMap<&str, usize> = HashMap::new();
    for m in manifests {
        *listed.entry(m.digest().as_ref()).or_default() += 1;
    }
    let mut hanging: HashMap<String, Vec<usize>> = HashMap::new();
    let mut orphans = Vec::new();
    for (n, m) in manifests.iter().enumerate() {
        if ref_name(m).is_some() {
            continue;
        }
        if let Some(subject) = subject_of(m.digest().as_ref()) {
            if listed.contains_key(subject.as_str()) {
                hanging.entry(subject).or_default().push(n);
            } else {
                orphans.push(n);
            }
        }
    }
    // Dropping an orphan can orphan what refers to it: follow until nothing more drops.
    let mut dropped = vec![false; manifests.len()];
    while let Some(n) = orphans.pop() {
        if std::mem::replace(&mut dropped[n], true) {
            continue;
        }
        let digest: &str = manifests[n].digest().as_ref();
        let left = listed.get_mut(digest).expect("every entry is counted");
        *left -= 1;
        if *left == 0 {
            orphans.extend(hanging.remove(digest).unwrap_or_default());
        }
    }
    if dropped.contains(&true) {
        let kept = manifests
            .iter()
            .zip(&dropped)
            .filter(|(_, &d)| !d)
            .map(|(m, _)| m.clone())
            .collect();
        index.set_manifests(kept);
    }
}

/// The untagged entries of `entries` (a layout's `index.json`) by the `subject` each names,
/// in index order: every stored manifest is read once.
pub fn referrers_by_subject(
    root: &Path,
    entries: &[Descriptor],
) -> std::collections::HashMap<String, Vec<Descriptor>> {
    let mut by_subject: std::collections::HashMap<String, Vec<Descriptor>> =
        std::collections::HashMap::new();
    for d in entries.iter().filter(|d| tag_of(d).is_none()) {
        if let Some(subject) = stored_subject(root, &d.digest) {
            by_subject.entry(subject).or_default().push(d.clone());
        }
    }
    by_subject
}

/// The `subject` digest of a manifest stored in the layout at `root`, if it has one.
pub fn stored_subject(root: &Path, digest: &str) -> Option<String> {
    // Through the checks of `manifest_bytes`: a FIFO or a link out of the layout is not read.
    let layout = Layout {
        root: root.to_path_buf(),
    };
    let bytes = layout.manifest_bytes(digest).ok()??;
    model::subject_digest(&model::parse_manifest(&bytes).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::artifact::{referrer, wasm_artifact, WasmSpec, SPDX};

    #[test]
    fn tags_move_and_referrers_stay_untagged() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::create(dir.path()).unwrap();
        let spec = WasmSpec {
            title: "a.wasm".into(),
            os: "wasip1".into(),
            created: "2024-01-01T00:00:00Z".into(),
            ..Default::default()
        };
        let artifact = |bytes: &[u8]| {
            let blob = crate::oci::artifact::Blob::from(bytes.to_vec());
            wasm_artifact(&blob, &crate::digest::sha256_hex(bytes), &spec)
        };
        let one = artifact(b"\0asm\x01\0\0\0");
        let two = artifact(b"\0asm\x01\0\0\0\0\x01x");
        layout.add(&one, Some("latest")).unwrap();
        layout
            .add(
                &referrer(&one.descriptor, SPDX, "a.spdx.json", b"{}", "x"),
                None,
            )
            .unwrap();
        layout.add(&two, Some("latest")).unwrap();
        layout.add(&two, Some("latest")).unwrap();
        let manifests = layout.entries().unwrap();
        // `two` took the tag, so `one` left the index and its SBOM referrer with it.
        assert_eq!(manifests.len(), 1, "{manifests:?}");
        assert_eq!(
            layout.resolve("latest").unwrap().unwrap().digest,
            two.descriptor.digest
        );
        for (d, _) in &one.blobs {
            assert!(layout.blob_path(&d.digest).exists());
        }
    }

    fn one_artifact(dir: &Path) -> (Layout, Artifact) {
        let layout = Layout::create(dir).unwrap();
        let spec = WasmSpec {
            title: "a.wasm".into(),
            os: "wasip1".into(),
            created: "2024-01-01T00:00:00Z".into(),
            ..Default::default()
        };
        let module = b"\0asm\x01\0\0\0";
        let a = wasm_artifact(
            &crate::oci::artifact::Blob::from(module.to_vec()),
            &crate::digest::sha256_hex(module),
            &spec,
        );
        layout.add(&a, Some("v1")).unwrap();
        (layout, a)
    }

    #[test]
    fn a_manifest_whose_listed_size_is_wrong_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (layout, a) = one_artifact(dir.path());
        let store = crate::oci::Store::Layout(layout);
        for size in [10, 1 << 63] {
            let mut d = a.descriptor.clone();
            d.size = size;
            let e = store.load_artifact(&d, true).unwrap_err();
            assert!(matches!(e, Error::Integrity(_)), "{e}");
            assert!(e.to_string().contains(&format!("lists {size}")), "{e}");
        }
        assert!(store.load_artifact(&a.descriptor, true).is_ok());
    }

    #[test]
    fn a_blob_that_is_not_a_regular_file_is_never_read() {
        let dir = tempfile::tempdir().unwrap();
        let (layout, a) = one_artifact(dir.path());
        let (layer, _) = &a.blobs[1];
        let path = layout.blob_path(&layer.digest);
        std::fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink("/dev/zero", &path).unwrap();
        let Err(e) = layout.checked_blob(layer) else {
            panic!("a blob that is /dev/zero was read")
        };
        assert!(e.to_string().contains("is not a regular file"), "{e}");
        // The manifest, likewise.
        let mpath = layout.blob_path(&a.descriptor.digest);
        std::fs::remove_file(&mpath).unwrap();
        std::os::unix::fs::symlink("/dev/zero", &mpath).unwrap();
        let e = layout.manifest_bytes(&a.descriptor.digest).unwrap_err();
        assert!(e.to_string().contains("is not a regular file"), "{e}");
    }

    #[test]
    fn a_manifest_over_four_mib_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let (layout, a) = one_artifact(dir.path());
        let mpath = layout.blob_path(&a.descriptor.digest);
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&mpath)
            .unwrap();
        f.set_len(model::MAX_MANIFEST + 1).unwrap();
        let e = layout.manifest_bytes(&a.descriptor.digest).unwrap_err();
        assert!(e.to_string().contains("more than the"), "{e}");
        assert!(layout.manifest_bytes("sha256:../../x").is_err());
    }

    /// The fixpoint the pruning computed before it was made linear: the oracle for the test below.
    fn prune_by_rounds(index: &mut ImageIndex, subject_of: impl Fn(&str) -> Option<String>) {
        loop {
            let listed: std::collections::BTreeSet<String> = index
                .manifests()
                .iter()
                .map(|m| m.digest().to_string())
                .collect();
            let before = index.manifests().len();
            let mut manifests = index.manifests().clone();
            manifests.retain(|m| {
                let orphan =
                    || subject_of(m.digest().as_ref()).is_some_and(|s| !listed.contains(&s));
                !(ref_name(m).is_none() && orphan())
            });
            index.set_manifests(manifests);
            if index.manifests().len() == before {
                return;
            }
        }
    }

    #[test]
    fn pruning_drops_the_same_entries_as_rounds_to_a_fixpoint() {
        use std::collections::BTreeMap;
        let digest = |n: u32| format!("sha256:{n:064x}");
        let entry = |n: u32, tag: Option<&str>| Descriptor {
            media_type: crate::oci::artifact::MANIFEST.into(),
            digest: digest(n),
            size: 1,
            artifact_type: None,
            annotations: tag
                .map(|t| BTreeMap::from([(REF_NAME.to_string(), t.to_string())]))
                .unwrap_or_default(),
        };
        // 1 and 2 are tagged; 3 refers to 1, 4 to 3, 5 to 9 (not listed), 6 to 5, 7 to 6
        // (listed twice), 8 to 2 (listed twice), 10 to 11 which is listed only as 11's
        // untagged duplicate whose own subject is gone.
        let subjects: BTreeMap<String, String> = [
            (3, 1),
            (4, 3),
            (5, 9),
            (6, 5),
            (7, 6),
            (8, 2),
            (10, 11),
            (11, 12),
        ]
        .into_iter()
        .map(|(a, b)| (digest(a), digest(b)))
        .collect();
        let entries = vec![
            entry(1, Some("v1")),
            entry(3, None),
            entry(7, None),
            entry(5, None),
            entry(4, None),
            entry(6, None),
            entry(7, None),
            entry(8, None),
            entry(2, Some("v2")),
            entry(8, None),
            entry(10, None),
            entry(11, None),
            entry(11, None),
            entry(13, None),
        ];
        let subject_of = |d: &str| subjects.get(d).cloned();
        let mut fast = model::index(&entries);
        prune_orphan_referrers(&mut fast, subject_of);
        let mut rounds = model::index(&entries);
        prune_by_rounds(&mut rounds, subject_of);
        let kept = |i: &ImageIndex| -> Vec<String> {
            i.manifests()
                .iter()
                .map(|m| m.digest().to_string())
                .collect()
        };
        assert_eq!(kept(&fast), kept(&rounds));
        assert_eq!(
            kept(&fast),
            [1, 3, 4, 8, 2, 8, 13].map(digest).to_vec(),
            "the chain from 9 and the one from 12 go, in index order the rest stays"
        );
        // Nothing to drop: the index is left as it was.
        let mut clean = model::index(&entries[..2]);
        prune_orphan_referrers(&mut clean, subject_of);
        assert_eq!(kept(&clean), [1, 3].map(digest).to_vec());
    }

    #[test]
    fn two_thousand_referrers_are_listed_with_one_write_of_index_json() {
        let dir = tempfile::tempdir().unwrap();
        let (layout, a) = one_artifact(dir.path());
        let referrers: Vec<Artifact> = (0..2000)
            .map(|n| {
                let doc = format!("{{\"n\":{n}}}");
                referrer(&a.descriptor, SPDX, "a.spdx.json", doc.as_bytes(), "x")
            })
            .collect();
        let store = crate::oci::Store::Layout(layout.clone());
        let blobs: Vec<_> = referrers.iter().flat_map(|r| r.blobs.clone()).collect();
        store.put_blobs(&blobs).unwrap();
        let before = INDEX_WRITES.with(|n| n.get());
        let indexed = store.put_referrers(&referrers, &[]).unwrap();
        assert_eq!(INDEX_WRITES.with(|n| n.get()) - before, 1);
        assert_eq!(indexed.len(), 2000);
        let entries = layout.entries().unwrap();
        assert_eq!(
            entries.len(),
            2001,
            "the tagged manifest and every referrer"
        );
        let listed: std::collections::HashSet<&str> =
            entries.iter().map(|d| d.digest.as_str()).collect();
        for r in &referrers {
            assert!(listed.contains(r.descriptor.digest.as_str()));
        }
        // Again: nothing is listed twice.
        store.put_referrers(&referrers, &[]).unwrap();
        assert_eq!(layout.entries().unwrap().len(), 2001);
    }

    /// `add_to_index` as it was before batches: the oracle for the test below.
    fn add_one_by_retain(index: &mut ImageIndex, artifact: &Artifact, tag: Option<&str>) {
        let mut entry = artifact.descriptor.clone();
        if let Some(tag) = tag {
            entry.annotations.insert(REF_NAME.into(), tag.into());
        }
        let mut manifests = index.manifests().clone();
        manifests.retain(|m| {
            let same = m.digest().as_ref() == entry.digest && ref_name(m) == tag;
            let tag_moves = tag.is_some() && ref_name(m) == tag;
            !same && !tag_moves
        });
        manifests.push(model::oci(&entry));
        index.set_manifests(manifests);
    }

    #[test]
    fn adding_many_at_once_lists_what_adding_one_by_one_lists() {
        let spec = WasmSpec {
            title: "a.wasm".into(),
            os: "wasip1".into(),
            created: "2024-01-01T00:00:00Z".into(),
            ..Default::default()
        };
        let module = |n: u8| {
            let bytes = vec![0, b'a', b's', b'm', 1, 0, 0, 0, 0, 1, n];
            wasm_artifact(
                &crate::oci::artifact::Blob::from(bytes.clone()),
                &crate::digest::sha256_hex(&bytes),
                &spec,
            )
        };
        let (m1, m2, m3) = (module(1), module(2), module(3));
        let r1 = referrer(&m1.descriptor, SPDX, "a.spdx.json", b"{}", "x");
        let r2 = referrer(&m2.descriptor, SPDX, "a.spdx.json", b"{}", "x");
        // Tags that move within the batch and off what was there, entries listed again.
        let first: Vec<(&Artifact, Option<&str>)> = vec![(&m1, Some("v1")), (&m3, Some("old"))];
        let batch: Vec<(&Artifact, Option<&str>)> = vec![
            (&r1, None),
            (&m2, Some("v1")),
            (&m1, Some("v1")),
            (&r2, None),
            (&r1, None),
            (&m2, Some("v2")),
            (&m3, None),
            (&m2, Some("old")),
        ];
        let listing = |i: &ImageIndex| -> Vec<(String, Option<String>)> {
            model::entries(i)
                .unwrap()
                .iter()
                .map(|d| (d.digest.clone(), tag_of(d).map(String::from)))
                .collect()
        };
        let mut one = empty_index();
        for (a, t) in first.iter().chain(&batch) {
            add_one_by_retain(&mut one, a, *t);
        }
        let mut many = empty_index();
        add_all_to_index(&mut many, &first);
        let entries = add_all_to_index(&mut many, &batch);
        assert_eq!(listing(&many), listing(&one));
        assert_eq!(entries.len(), batch.len());
        assert_eq!(tag_of(&entries[1]), Some("v1"));
        assert_eq!(listing(&one).len(), 6, "{:?}", listing(&one));
    }
}

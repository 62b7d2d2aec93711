//! What an interrupted run must undo. The library records here, as it goes, where it makes
//! temporary files (`fsio`), the directories it creates for outputs (`build`'s staging) and
//! the compilers it runs (`build`); the CLI's SIGINT/SIGTERM handler calls [`clean_up`] before
//! it exits, so that Ctrl-C or a CI runner's SIGTERM leaves no `.wasipack-PID-XXXXXX` file, no
//! empty half-made directory and no orphaned `go build`. A leaf module: it uses nothing of
//! ours, and prints nothing.
//!
//! Temporary files are found by name, not kept in a list: every one this process makes is
//! named `.wasipack-PID-...` ([`temp_prefix`]) in a directory recorded here, so that another
//! wasipack working in the same directory keeps its own.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

#[derive(Default)]
struct Live {
    temp_dirs: Vec<PathBuf>,
    created_dirs: Vec<PathBuf>,
    process_groups: Vec<u32>,
}

static LIVE: Mutex<Live> = Mutex::new(Live {
    temp_dirs: Vec::new(),
    created_dirs: Vec::new(),
    process_groups: Vec::new(),
});

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

fn live() -> std::sync::MutexGuard<'static, Live> {
    // A panic elsewhere while the lock was held leaves the lists as they were: still usable.
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// The prefix of every temporary file this process makes: `.wasipack-PID-`.
pub fn temp_prefix() -> String {
    format!(".wasipack-{}-", std::process::id())
}

/// Records that temporary files may be made in `dir`.
pub fn temp_dir(dir: &Path) {
    let mut live = live();
    if !live.temp_dirs.iter().any(|d| d == dir) {
        live.temp_dirs.push(dir.to_path_buf());
    }
}

/// Records a directory created for outputs: removed on interruption if it is still empty.
pub fn created_dir(dir: &Path) {
    live().created_dirs.push(dir.to_path_buf());
}

/// Records a child that leads its own process group (spawned with `process_group(0)`):
/// the group is stopped on interruption.
pub fn child_group(pid: u32) {
    live().process_groups.push(pid);
}

/// The child's group ended (it was waited for).
pub fn child_group_done(pid: u32) {
    live().process_groups.retain(|p| *p != pid);
}

/// Whether [`clean_up`] has run: work that sees it should stop.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::Relaxed)
}

/// Undoes what an interrupted run leaves: stops the compilers' process groups (SIGTERM),
/// removes this process's temporary files from every directory that had them, and removes the
/// directories created for outputs that are still empty (deepest first). Best effort: what
/// cannot be removed is left. Called by the CLI when SIGINT or SIGTERM arrives, just before it
/// exits.
pub fn clean_up() {
    INTERRUPTED.store(true, Ordering::Relaxed);
    clean(&live(), &temp_prefix());
}

fn clean(live: &Live, prefix: &str) {
    for pid in &live.process_groups {
        stop_group(*pid);
    }
    for dir in &live.temp_dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(prefix) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    for dir in live.created_dirs.iter().rev() {
        // Only an empty directory goes: `remove_dir` refuses any other.
        let _ = std::fs::remove_dir(dir);
    }
}

#[cfg(target_os = "linux")]
fn stop_group(pid: u32) {
    use rustix::process::{kill_process_group, Pid, Signal};
    if let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) {
        let _ = kill_process_group(pid, Signal::TERM);
    }
}

#[cfg(not(target_os = "linux"))]
fn stop_group(_pid: u32) {}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn clean_up_removes_this_processs_temporaries_and_empty_created_dirs_only() {
        let dir = tempfile::tempdir().unwrap();
        let ours = dir.path().join(format!("{}abc", temp_prefix()));
        let theirs = dir.path().join(".wasipack-1-abc");
        let kept = dir.path().join("out.wasm");
        for f in [&ours, &theirs, &kept] {
            std::fs::write(f, b"x").unwrap();
        }
        let empty = dir.path().join("made/deeper");
        std::fs::create_dir_all(&empty).unwrap();
        let full = dir.path().join("full");
        std::fs::create_dir(&full).unwrap();
        std::fs::write(full.join("f"), b"x").unwrap();
        // The lists of a run of its own: the process's are shared with the other tests.
        let live = Live {
            temp_dirs: vec![dir.path().to_path_buf()],
            created_dirs: vec![dir.path().join("made"), empty, full.clone()],
            process_groups: Vec::new(),
        };
        clean(&live, &temp_prefix());
        assert!(!ours.exists());
        assert!(theirs.exists(), "another process's temporary file is kept");
        assert!(kept.exists());
        assert!(!dir.path().join("made").exists());
        assert!(full.join("f").exists());
    }
}

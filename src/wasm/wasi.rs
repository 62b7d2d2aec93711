//! The WASI preview1 ABI: canonical core-wasm signatures of every `wasi_snapshot_preview1`
//! function (lowered from `WebAssembly/WASI`, `legacy/preview1/witx/wasi_snapshot_preview1.witx`)
//! and the capability group each one belongs to.
//!
//! Hand-written because no well-kept crate exposes the lowered signatures as data; the table is
//! cross-checked against a real runtime's host definitions (wazero) by `tests/wasi_crosscheck.rs`.

use serde::Serialize;
use std::fmt;

/// The module name of WASI preview1.
pub const PREVIEW1: &str = "wasi_snapshot_preview1";
/// The module name of the older WASI preview0.
pub const PREVIEW0: &str = "wasi_unstable";

/// A capability group: what an import lets a module do to the world outside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Capability {
    /// Command-line arguments.
    Args,
    /// Environment variables.
    Environment,
    /// Wall and monotonic clocks.
    Clock,
    /// Random bytes.
    Random,
    /// Reading and writing descriptors that are already open (stdio, preopens, accepted sockets).
    Io,
    /// Opening, listing and reading files and directories.
    FilesystemRead,
    /// Creating, changing, renaming and removing files and directories.
    FilesystemWrite,
    /// Accepting, sending on and shutting down sockets; outgoing network for components.
    Sockets,
    /// Waiting on clocks and descriptors.
    Poll,
    /// Exiting, raising signals and yielding.
    Process,
}

impl Capability {
    /// Every capability, in display order.
    pub const ALL: [Capability; 10] = [
        Capability::Args,
        Capability::Environment,
        Capability::Clock,
        Capability::Random,
        Capability::Io,
        Capability::FilesystemRead,
        Capability::FilesystemWrite,
        Capability::Sockets,
        Capability::Poll,
        Capability::Process,
    ];

    /// The name used in policy files and reports.
    pub fn name(self) -> &'static str {
        match self {
            Capability::Args => "args",
            Capability::Environment => "environment",
            Capability::Clock => "clock",
            Capability::Random => "random",
            Capability::Io => "io",
            Capability::FilesystemRead => "filesystem-read",
            Capability::FilesystemWrite => "filesystem-write",
            Capability::Sockets => "sockets",
            Capability::Poll => "poll",
            Capability::Process => "process",
        }
    }

    /// Parses a policy-file name.
    pub fn from_name(name: &str) -> Option<Capability> {
        Capability::ALL.into_iter().find(|c| c.name() == name)
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A core value type as it appears in a lowered WASI signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Val {
    I32,
    I64,
}

impl Val {
    pub fn val_type(self) -> wasmparser::ValType {
        match self {
            Val::I32 => wasmparser::ValType::I32,
            Val::I64 => wasmparser::ValType::I64,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Val::I32 => "i32",
            Val::I64 => "i64",
        }
    }
}

/// One preview1 function: its canonical signature and capability.
#[derive(Debug, Clone, Copy)]
pub struct WasiFunction {
    pub name: &'static str,
    pub params: &'static [Val],
    pub results: &'static [Val],
    pub capability: Capability,
}

impl WasiFunction {
    /// The signature as text, e.g. `(i32, i64) -> i32`.
    pub fn signature(&self) -> String {
        format_signature(
            self.params.iter().map(|v| v.name()),
            self.results.iter().map(|v| v.name()),
        )
    }
}

/// Formats a signature the way every report shows it: `(i32, i64) -> i32`.
pub fn format_signature<'a>(
    params: impl Iterator<Item = &'a str>,
    results: impl Iterator<Item = &'a str>,
) -> String {
    let params: Vec<&str> = params.collect();
    let results: Vec<&str> = results.collect();
    let results = match results.len() {
        0 => "()".to_string(),
        1 => results[0].to_string(),
        _ => format!("({})", results.join(", ")),
    };
    format!("({}) -> {}", params.join(", "), results)
}

use Capability::*;
use Val::{I32, I64};

macro_rules! wasi {
    ($($name:ident ( $($p:ident),* ) -> [ $($r:ident),* ] : $cap:ident;)*) => {
        /// Every `wasi_snapshot_preview1` function, sorted by name.
        pub const PREVIEW1_FUNCTIONS: &[WasiFunction] = &[
            $(WasiFunction {
                name: stringify!($name),
                params: &[$($p),*],
                results: &[$($r),*],
                capability: $cap,
            },)*
        ];
    };
}

wasi! {
    args_get(I32, I32) -> [I32]: Args;
    args_sizes_get(I32, I32) -> [I32]: Args;
    clock_res_get(I32, I32) -> [I32]: Clock;
    clock_time_get(I32, I64, I32) -> [I32]: Clock;
    environ_get(I32, I32) -> [I32]: Environment;
    environ_sizes_get(I32, I32) -> [I32]: Environment;
    fd_advise(I32, I64, I64, I32) -> [I32]: FilesystemRead;
    fd_allocate(I32, I64, I64) -> [I32]: FilesystemWrite;
    fd_close(I32) -> [I32]: Io;
    fd_datasync(I32) -> [I32]: Io;
    fd_fdstat_get(I32, I32) -> [I32]: Io;
    fd_fdstat_set_flags(I32, I32) -> [I32]: Io;
    fd_fdstat_set_rights(I32, I64, I64) -> [I32]: Io;
    fd_filestat_get(I32, I32) -> [I32]: FilesystemRead;
    fd_filestat_set_size(I32, I64) -> [I32]: FilesystemWrite;
    fd_filestat_set_times(I32, I64, I64, I32) -> [I32]: FilesystemWrite;
    fd_pread(I32, I32, I32, I64, I32) -> [I32]: FilesystemRead;
    fd_prestat_dir_name(I32, I32, I32) -> [I32]: FilesystemRead;
    fd_prestat_get(I32, I32) -> [I32]: FilesystemRead;
    fd_pwrite(I32, I32, I32, I64, I32) -> [I32]: FilesystemWrite;
    fd_read(I32, I32, I32, I32) -> [I32]: Io;
    fd_readdir(I32, I32, I32, I64, I32) -> [I32]: FilesystemRead;
    fd_renumber(I32, I32) -> [I32]: Io;
    fd_seek(I32, I64, I32, I32) -> [I32]: Io;
    fd_sync(I32) -> [I32]: Io;
    fd_tell(I32, I32) -> [I32]: Io;
    fd_write(I32, I32, I32, I32) -> [I32]: Io;
    path_create_directory(I32, I32, I32) -> [I32]: FilesystemWrite;
    path_filestat_get(I32, I32, I32, I32, I32) -> [I32]: FilesystemRead;
    path_filestat_set_times(I32, I32, I32, I32, I64, I64, I32) -> [I32]: FilesystemWrite;
    path_link(I32, I32, I32, I32, I32, I32, I32) -> [I32]: FilesystemWrite;
    path_open(I32, I32, I32, I32, I32, I64, I64, I32, I32) -> [I32]: FilesystemRead;
    path_readlink(I32, I32, I32, I32, I32, I32) -> [I32]: FilesystemRead;
    path_remove_directory(I32, I32, I32) -> [I32]: FilesystemWrite;
    path_rename(I32, I32, I32, I32, I32, I32) -> [I32]: FilesystemWrite;
    path_symlink(I32, I32, I32, I32, I32) -> [I32]: FilesystemWrite;
    path_unlink_file(I32, I32, I32) -> [I32]: FilesystemWrite;
    poll_oneoff(I32, I32, I32, I32) -> [I32]: Poll;
    proc_exit(I32) -> []: Process;
    proc_raise(I32) -> [I32]: Process;
    random_get(I32, I32) -> [I32]: Random;
    sched_yield() -> [I32]: Process;
    sock_accept(I32, I32, I32) -> [I32]: Sockets;
    sock_recv(I32, I32, I32, I32, I32, I32) -> [I32]: Sockets;
    sock_send(I32, I32, I32, I32, I32) -> [I32]: Sockets;
    sock_shutdown(I32, I32) -> [I32]: Sockets;
}

/// Looks up a preview1 function by name.
pub fn preview1(name: &str) -> Option<&'static WasiFunction> {
    PREVIEW1_FUNCTIONS
        .binary_search_by(|f| f.name.cmp(name))
        .ok()
        .map(|i| &PREVIEW1_FUNCTIONS[i])
}

/// The capabilities a component (preview2) import of interface `name` grants, e.g.
/// `wasi:filesystem/types@0.2.0`. A preview2 filesystem handle can both read and write, so it
/// counts as both.
pub fn preview2_capabilities(name: &str) -> Vec<Capability> {
    let Some(rest) = name.strip_prefix("wasi:") else {
        return Vec::new();
    };
    let (package, interface) = rest.split_once('/').unwrap_or((rest, ""));
    let interface = interface.split('@').next().unwrap_or("");
    match (package, interface) {
        ("cli", "environment") => vec![Args, Environment],
        ("cli", "exit") => vec![Process],
        ("cli", _) => vec![Io],
        ("clocks", _) => vec![Clock],
        ("random", _) => vec![Random],
        ("filesystem", _) => vec![FilesystemRead, FilesystemWrite],
        ("sockets", _) | ("http", _) => vec![Sockets],
        ("io", "poll") => vec![Poll],
        ("io", _) => vec![Io],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique_so_lookup_works() {
        for pair in PREVIEW1_FUNCTIONS.windows(2) {
            assert!(
                pair[0].name < pair[1].name,
                "{} before {}",
                pair[0].name,
                pair[1].name
            );
        }
        assert_eq!(PREVIEW1_FUNCTIONS.len(), 46);
        assert_eq!(preview1("path_open").unwrap().params.len(), 9);
        assert!(preview1("sock_open").is_none());
    }

    #[test]
    fn signature_text_matches_wat_shape() {
        assert_eq!(preview1("proc_exit").unwrap().signature(), "(i32) -> ()");
        assert_eq!(
            preview1("clock_time_get").unwrap().signature(),
            "(i32, i64, i32) -> i32"
        );
    }

    #[test]
    fn preview2_interfaces_map_to_capabilities() {
        assert_eq!(
            preview2_capabilities("wasi:cli/environment@0.2.0"),
            vec![Args, Environment]
        );
        assert_eq!(
            preview2_capabilities("wasi:sockets/tcp@0.2.3"),
            vec![Sockets]
        );
        assert_eq!(preview2_capabilities("wasi:io/poll@0.2.0"), vec![Poll]);
        assert!(preview2_capabilities("my:pkg/iface").is_empty());
    }
}

//! `wasipack pull REF -o OUT.wasm`.

use std::path::PathBuf;
use wasipack::oci::{Store, Target};
use wasipack::report;
use wasipack::workflow::pull;
use wasipack::Result;

/// Pull the wasm module of an OCI artifact (CNCF Wasm layout, or the older wasm media types),
/// checking every digest while it streams. The output is written atomically: nothing is
/// written when a digest does not match.
///
/// Exit codes: 0 pulled, 2 bad input, not a wasm artifact, authentication, registry, network
/// or digest error.
#[derive(clap::Args)]
pub struct Opts {
    /// REGISTRY/REPO[:TAG|@sha256:HEX] or oci-layout:PATH[:TAG|@sha256:HEX].
    reference: String,
    /// Where to write the module (atomically; a device or FIFO in place). `-` is stdout, and
    /// the report then goes to stderr.
    #[arg(long, short)]
    output: PathBuf,
    /// For an image index (a `build --target wasip1,wasip2`): the entry to pull, wasip1 or
    /// wasip2 (also as OS/wasm). Needed when the index has more than one wasm entry.
    #[arg(long, value_name = "OS[/wasm]")]
    platform: Option<String>,
    /// Print a wasipack.pull/v1 report as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    net: super::net::Net,
}

pub fn run(opts: Opts) -> Result<u8> {
    let target = Target::parse(&opts.reference)?;
    let store = Store::open(&target, opts.net.options(false, !opts.json)?, false)?;
    let r = pull::pull(&store, &target, opts.platform.as_deref(), &opts.output)?;
    if opts.output.as_os_str() == "-" {
        // The module holds stdout: the report goes to stderr.
        if opts.json {
            eprint!(
                "{}",
                String::from_utf8_lossy(&wasipack::report::json_bytes(report::PULL_SCHEMA, &r))
            );
        } else {
            eprint!(
                "{}\n{} bytes ({}) written to stdout\n",
                r.reference, r.size, r.digest
            );
        }
    } else if opts.json {
        super::print_json(report::PULL_SCHEMA, &r);
    } else {
        super::print(&format!(
            "{}\n{} bytes ({}) written to {}\n",
            wasipack::text::printable(&r.reference),
            r.size,
            r.digest,
            wasipack::text::printable(&r.output)
        ));
    }
    Ok(0)
}

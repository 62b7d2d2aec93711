//! The post-build pipeline alone, for bench/build.sh: rewrite, check (full validation),
//! SBOMs from a saved `go list -deps -json`, OCI artifacts, and the all-or-nothing write of
//! `OUT/` — everything `wasipack build` does after the compiler, on a module of your choice.
//!
//!   cargo run --release --example post_build -- MODULE.wasm GO_LIST.json OUT_DIR

use std::collections::BTreeMap;
use std::path::Path;
use wasipack::build::{config::Settings, package_compiled, publish, Plan};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, wasm, list, out] = args.as_slice() else {
        eprintln!("usage: post_build MODULE.wasm GO_LIST.json OUT_DIR");
        std::process::exit(2);
    };
    let compiled = wasipack::fsio::read_input_private(Path::new(wasm)).expect("module");
    let listed = std::fs::read(list).expect("go list output");
    let listing = wasipack::build::toolchain::modules_from_go_list(&listed).expect("go list JSON");
    let plan = Plan::resolve(
        Settings {
            name: Some("bench".into()),
            policy: Some("permissive".into()),
            ..Default::default()
        },
        Path::new("."),
    )
    .expect("plan");
    let built = package_compiled(
        &plan,
        compiled,
        listing,
        "go1.26.8",
        "2024-01-01T00:00:00Z",
        &BTreeMap::new(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    publish(&[built], Path::new(out), &BTreeMap::new()).unwrap_or_else(|e| panic!("{e}"));
}

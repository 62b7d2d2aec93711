//! `wasipack completions SHELL` and `wasipack man`: generated from the same CLI definition.

use clap::CommandFactory;
use std::path::PathBuf;
use wasipack::{Error, Result};

/// Print a shell completion script (bash, zsh, fish, powershell or elvish); see
/// docs/commands/completions.md for where each shell looks. For bash: `wasipack completions
/// bash > ~/.local/share/bash-completion/completions/wasipack`.
#[derive(clap::Args)]
pub struct Opts {
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

pub fn run(opts: Opts) -> Result<u8> {
    let mut out = Vec::new();
    clap_complete::generate(opts.shell, &mut super::Cli::command(), "wasipack", &mut out);
    super::print(&String::from_utf8_lossy(&out));
    Ok(0)
}

/// Print the man page (roff), or write one page per command into a directory.
#[derive(clap::Args)]
pub struct ManOpts {
    /// Write wasipack.1 and wasipack-COMMAND.1 here instead of printing wasipack.1.
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
}

fn render(cmd: clap::Command) -> Vec<u8> {
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut out)
        .expect("rendering to memory does not fail");
    out
}

pub fn man(opts: ManOpts) -> Result<u8> {
    let cmd = super::Cli::command();
    let Some(dir) = opts.out_dir else {
        super::print(&String::from_utf8_lossy(&render(cmd)));
        return Ok(0);
    };
    std::fs::create_dir_all(&dir).map_err(|source| Error::Write {
        path: dir.clone(),
        source,
    })?;
    wasipack::fsio::write_atomic(&dir.join("wasipack.1"), &render(cmd.clone()))?;
    for sub in cmd.get_subcommands() {
        let name = format!("wasipack-{}", sub.get_name());
        let page = sub.clone().name(name.clone()).version(super::VERSION);
        wasipack::fsio::write_atomic(&dir.join(format!("{name}.1")), &render(page))?;
    }
    Ok(0)
}

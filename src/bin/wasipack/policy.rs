//! `wasipack policy list|show`: the shipped policies.

use wasipack::policy::{shipped_source, Policy, SHIPPED};
use wasipack::Result;

/// List the shipped policies or show one.
#[derive(clap::Args)]
pub struct Opts {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// List the shipped policies with their descriptions.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print a policy: its TOML, or with --json every rule as resolved through `extends`.
    Show {
        /// A shipped policy name or a policy file path.
        policy: String,
        /// Print the resolved policy as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(opts: Opts) -> Result<u8> {
    match opts.command {
        Command::List { json } => {
            let mut rows = Vec::new();
            for (name, _) in SHIPPED {
                let p = Policy::load(name)?;
                rows.push((name.to_string(), p.description.unwrap_or_default()));
            }
            if json {
                let list: Vec<_> = rows
                    .iter()
                    .map(|(n, d)| serde_json::json!({ "name": n, "description": d }))
                    .collect();
                super::print(&format!(
                    "{}\n",
                    serde_json::to_string_pretty(&list).expect("serializes")
                ));
            } else {
                let text: String = rows
                    .iter()
                    .map(|(n, d)| {
                        format!(
                            "{:<18} {}\n",
                            wasipack::text::printable(n),
                            wasipack::text::printable(d)
                        )
                    })
                    .collect();
                super::print(&text);
            }
        }
        Command::Show { policy, json } => {
            let resolved = Policy::load(&policy)?;
            if json {
                super::print(&format!(
                    "{}\n",
                    serde_json::to_string_pretty(&resolved).expect("serializes")
                ));
            } else {
                let text = match shipped_source(&policy) {
                    Some(text) => text.to_string(),
                    None => wasipack::fsio::read_text_bounded(
                        policy.as_ref(),
                        wasipack::fsio::TEXT_LIMIT,
                    )
                    .unwrap_or_default(),
                };
                // As it is: it loaded, and TOML allows no control character but a tab.
                super::print(&text);
            }
        }
    }
    Ok(0)
}

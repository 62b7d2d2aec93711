//! `--github-summary FILE` and `--github-output FILE`: the job summary and the step outputs
//! that `build`, `push`, `sign` and `attest` write for a GitHub Actions step (the wasipack
//! Action runs one of them per step). The text comes from `wasipack::report::github`.

use std::path::{Path, PathBuf};
use wasipack::build::{self, BuildReport, Options, Plan};
use wasipack::check::CheckReport;
use wasipack::report::github::{self, Kept, Links, Outputs, Paths};
use wasipack::{Error, Result};

/// The files a GitHub Actions step reads after it ran.
#[derive(clap::Args, Clone, Default)]
pub struct Files {
    /// Append a Markdown summary of what was done to FILE (`$GITHUB_STEP_SUMMARY` in a GitHub
    /// Actions step).
    #[arg(long, value_name = "FILE")]
    pub github_summary: Option<PathBuf>,
    /// Append the step outputs to FILE (`$GITHUB_OUTPUT`), as `NAME<<DELIMITER` blocks whose
    /// delimiter occurs in no value. See docs/action.md for the names.
    #[arg(long, value_name = "FILE")]
    pub github_output: Option<PathBuf>,
}

impl Files {
    fn summary(&self, text: impl FnOnce() -> String) -> Result<()> {
        match &self.github_summary {
            Some(path) => github::append(path, &text()),
            None => Ok(()),
        }
    }

    fn outputs(&self, outputs: impl FnOnce() -> Outputs) -> Result<()> {
        match &self.github_output {
            Some(path) => github::append(path, &outputs().render()),
            None => Ok(()),
        }
    }

    /// After `push`: the artifact pushed to `reference` (as given on the command line) and
    /// what was signed with it.
    pub fn pushed(
        &self,
        reference: &str,
        pushed: &[wasipack::workflow::push::PushReport],
    ) -> Result<()> {
        let Some(first) = pushed.first() else {
            return Ok(());
        };
        let signed: Vec<&wasipack::sign::Signed> = pushed.iter().flat_map(|p| &p.signed).collect();
        let signatures = signed.iter().filter(|s| s.predicate_type.is_none()).count();
        let attested = labels(&signed);
        self.summary(|| {
            let mut text =
                github::pushed_summary(&first.reference, tag_of(reference), first.referrers.len());
            if !signed.is_empty() {
                text.push_str(&github::signed_summary(
                    signatures,
                    &attested,
                    &first.reference,
                ));
            }
            text
        })?;
        self.outputs(|| {
            github::published_outputs(
                Some((reference, &first.reference, &first.digest)),
                signatures,
                attested.len(),
            )
        })
    }

    /// After `sign` or `attest`.
    pub fn signed(&self, signed: &wasipack::sign::Signed) -> Result<()> {
        let signatures = usize::from(signed.predicate_type.is_none());
        let attested = labels(&[signed]);
        self.summary(|| github::signed_summary(signatures, &attested, &signed.reference))?;
        self.outputs(|| github::published_outputs(None, signatures, attested.len()))
    }
}

fn labels(signed: &[&wasipack::sign::Signed]) -> Vec<String> {
    signed
        .iter()
        .filter_map(|s| s.predicate_type.as_deref())
        .map(github::predicate_label)
        .collect()
}

/// The tag of `REGISTRY/REPO[:TAG]` as given, if it has one.
fn tag_of(reference: &str) -> Option<&str> {
    let last = reference.rsplit('/').next().unwrap_or(reference);
    last.split_once(':').map(|(_, tag)| tag)
}

/// `build`'s GitHub options.
#[derive(clap::Args, Clone, Default)]
pub struct BuildFlags {
    #[command(flatten)]
    pub files: Files,
    /// Name files in annotations, the SARIF log and the job summary relative to DIR (the
    /// repository's root, say) instead of the current directory.
    #[arg(long, value_name = "DIR")]
    pub repo_root: Option<PathBuf>,
    /// When a module breaks its policy, build it again into DIR under a policy that accepts
    /// any valid module, for inspection (nothing is published); the summary shows its sizes.
    #[arg(long, value_name = "DIR")]
    pub keep_rejected: Option<PathBuf>,
}

/// A policy that accepts any valid module.
const ACCEPT_ANY: &str = "description = \"accept any valid module (for inspection)\"\n\
                          extends = \"permissive\"\n\n[imports]\ncheck-signatures = false\n";

impl BuildFlags {
    fn paths(&self) -> Paths {
        let cwd = std::env::current_dir().unwrap_or_default();
        let var = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
        let links = match (
            var("GITHUB_SERVER_URL"),
            var("GITHUB_REPOSITORY"),
            var("GITHUB_SHA"),
        ) {
            (Some(server), Some(repository), Some(sha)) => Some(Links {
                server,
                repository,
                sha,
            }),
            _ => None,
        };
        // The current directory is a physical path: so is the root, for one to contain the other.
        let root = self.repo_root.as_deref().unwrap_or(&cwd);
        let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
        Paths::new(&cwd, &root, links)
    }

    /// Each check with the module it names (`OUTPUT/NAME.wasm`): relative to `--repo-root`
    /// when given (the policy files too), else as `default_name` names it.
    pub fn named(
        &self,
        output: &Path,
        checks: &[(String, CheckReport)],
        default_name: impl Fn(&Path, &str) -> String,
    ) -> Vec<(String, CheckReport)> {
        let paths = self.repo_root.is_some().then(|| self.paths());
        checks
            .iter()
            .map(|(name, r)| match &paths {
                Some(p) => (p.rel(&output.join(format!("{name}.wasm"))), p.rebase(r)),
                None => (default_name(output, name), r.clone()),
            })
            .collect()
    }

    /// Before building: the outputs describe one module.
    pub fn one_module(&self, plans: &[Plan]) -> Result<()> {
        if self.files.github_output.is_some() && plans.len() > 1 {
            let names: Vec<&str> = plans.iter().map(|p| p.name.as_str()).collect();
            return Err(Error::Usage(format!(
                "--github-output describes one module, but this build has {} ({}): pick one with --package",
                plans.len(),
                names.join(", ")
            )));
        }
        Ok(())
    }

    /// After a build that passed.
    pub fn built(&self, report: &BuildReport, sarif: Option<&Path>) -> Result<()> {
        let paths = self.paths();
        let output = paths.absolute(Path::new(&report.output));
        let sarif = sarif.map(|p| paths.absolute(p));
        self.files.summary_result(|| {
            let mut text = String::new();
            for m in &report.modules {
                let inspection = match report.checks.iter().find(|(n, _)| n == &m.name) {
                    Some((_, check)) => check.module.clone(),
                    // Up to date: the outputs were not checked again.
                    None => super::inspect_file(&output.join(&m.wasm))?.1,
                };
                text.push_str(&github::built_summary(m, &inspection, &output, &paths));
            }
            Ok(text)
        })?;
        self.files.outputs(|| match report.modules.as_slice() {
            [m] => github::built_outputs(m, &output, sarif.as_deref()),
            _ => github::failed_outputs(),
        })
    }

    /// After a build whose modules broke their policy (`plans` and `options`: that build's).
    pub fn rejected(
        &self,
        reports: &[(String, CheckReport)],
        plans: &[Plan],
        options: &Options,
        sarif: Option<&Path>,
    ) -> Result<()> {
        let paths = self.paths();
        let kept = self
            .keep_rejected
            .as_deref()
            .and_then(|dir| keep(dir, plans, options, reports));
        let kept: Vec<Kept> = kept
            .iter()
            .flat_map(|r| {
                r.modules.iter().map(|module| Kept {
                    output: Path::new(&r.output),
                    module,
                })
            })
            .collect();
        self.files
            .summary(|| github::rejected_summary(reports, &kept, &paths))?;
        let sarif = sarif.map(|p| paths.absolute(p));
        self.files
            .outputs(|| github::rejected_outputs(sarif.as_deref()))
    }

    /// After a build that failed: the summary and outputs say so; with `annotate`, an
    /// annotation too.
    pub fn finish(&self, annotate: bool, result: Result<u8>) -> Result<u8> {
        let Err(e) = &result else { return result };
        if annotate {
            eprint!(
                "{}",
                github::error("wasipack build", &format!("wasipack build failed: {e}"))
            );
        }
        let code = e.exit_code();
        // The command's own error is what is reported; these files are secondary.
        let _ = self.files.summary(|| github::failed_summary("build", code));
        let _ = self.files.outputs(github::failed_outputs);
        result
    }
}

impl Files {
    fn summary_result(&self, text: impl FnOnce() -> Result<String>) -> Result<()> {
        match &self.github_summary {
            Some(path) => github::append(path, &text()?),
            None => Ok(()),
        }
    }
}

/// Builds the rejected modules again into `dir` under [`ACCEPT_ANY`]; `None` (with a note on
/// stderr) when that fails.
fn keep(
    dir: &Path,
    plans: &[Plan],
    options: &Options,
    reports: &[(String, CheckReport)],
) -> Option<BuildReport> {
    let accept = match wasipack::policy::Policy::from_str("accept-any.toml", ACCEPT_ANY) {
        Ok(p) => p,
        Err(e) => {
            eprintln!(
                "(could not keep the rejected module: {})",
                wasipack::text::printable(&e.to_string())
            );
            return None;
        }
    };
    let plans: Vec<Plan> = plans
        .iter()
        .filter(|p| reports.iter().any(|(n, _)| n == &p.name))
        .cloned()
        .map(|mut p| {
            p.policy = accept.clone();
            p
        })
        .collect();
    let options = Options {
        output: dir.to_path_buf(),
        reuse: false,
        verify_reproducible: false,
        ..options.clone()
    };
    match build::build(&plans, &options, &super::progress::CompilerMessages) {
        Ok(report) => Some(report),
        Err(build::Failure::Error(e)) => {
            eprintln!(
                "(could not rebuild the rejected module for inspection: {})",
                wasipack::text::printable(&e.to_string())
            );
            None
        }
        Err(build::Failure::Rejected(_)) => None,
    }
}

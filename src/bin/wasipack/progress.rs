//! The CLI's observers: of registry work (progress bars on a terminal, and with `-v` a line for
//! each request and each change of plan, on stderr), and of the compiler (its messages on
//! stderr as they come).

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use wasipack::oci::progress::{Observer, Transfer};
use wasipack::oci::Descriptor;

pub struct Terminal {
    bars: MultiProgress,
    verbose: bool,
}

impl Terminal {
    /// Bars only where `bars` (stderr is a terminal and nothing asked for quiet), request
    /// lines only with `verbose`.
    pub fn new(bars: bool, verbose: bool) -> Terminal {
        Terminal {
            bars: MultiProgress::with_draw_target(if bars {
                ProgressDrawTarget::stderr()
            } else {
                ProgressDrawTarget::hidden()
            }),
            verbose,
        }
    }

    /// A `-v` line: what the registry said is escaped (`text::printable`), so it stays one line.
    fn line(&self, text: &str) {
        if self.verbose {
            let text = wasipack::text::printable(text);
            let text = text.as_ref();
            // Above the bars, so that they are not torn.
            if self.bars.is_hidden() {
                eprintln!("{text}");
            } else {
                let _ = self.bars.println(text);
            }
        }
    }
}

impl Observer for Terminal {
    fn response(&self, what: &str, path: &str, status: u16) {
        self.line(&format!("{what} {path} -> {status}"));
    }

    fn no_response(&self, what: &str, why: &str) {
        self.line(&format!("{what}: {why}"));
    }

    fn note(&self, message: &str) {
        self.line(message);
    }

    fn transfer(&self, verb: &str, blob: &Descriptor) -> Box<dyn Transfer> {
        if self.bars.is_hidden() {
            return Box::new(wasipack::oci::progress::Silent);
        }
        let bar = self.bars.add(ProgressBar::new(blob.size));
        bar.set_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_message(format!(
            "{verb} {}",
            &blob.digest[..19.min(blob.digest.len())]
        ));
        Box::new(Bar(bar))
    }
}

struct Bar(ProgressBar);

impl Transfer for Bar {
    fn position(&self, done: u64) {
        self.0.set_position(done);
    }

    fn advance(&self, n: u64) {
        self.0.inc(n);
    }

    fn end(&self, ok: bool) {
        if ok {
            self.0.finish_and_clear();
        } else {
            self.0.abandon();
        }
    }
}

/// The compiler's messages go to our standard error as they come.
pub struct CompilerMessages;

impl wasipack::build::Observer for CompilerMessages {
    fn compiler_messages(&self, _module: &str, messages: &mut dyn std::io::Read) {
        let _ = std::io::copy(messages, &mut std::io::stderr());
    }
}

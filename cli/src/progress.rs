//! Progress bars for long work, drawn on stderr only when stderr is a terminal, and Ctrl-C
//! wired to the core's cancellation token.

use std::{
    io::IsTerminal,
    sync::{Mutex, PoisonError},
    time::Duration,
};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use keepsake_core::progress::{CancellationToken, Phase, Progress, ProgressSink, Unit};

use crate::error::ExitStatus;

/// A [`ProgressSink`] that draws one bar, restyled at each phase change.
pub struct Bar {
    bar: ProgressBar,
    shown: Mutex<Option<(Phase, Unit)>>,
}

impl Bar {
    /// A bar on stderr, or a hidden one when `visible` is false.
    pub fn new(visible: bool) -> Self {
        let target = if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(None, target);
        bar.enable_steady_tick(Duration::from_millis(120));
        Bar {
            bar,
            shown: Mutex::new(None),
        }
    }

    /// Show a spinner with `label` for work that reports no progress of its own.
    pub fn spin(&self, label: &'static str) {
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg:9} {elapsed}") {
            self.bar.set_style(style);
        }
        self.bar.set_message(label);
    }

    /// Remove the bar from the terminal.
    pub fn clear(&self) {
        self.bar.finish_and_clear();
    }

    fn restyle(&self, progress: &Progress) {
        let label = phase_label(progress.phase);
        let counter = match progress.unit {
            Unit::Rows => "{human_pos}/{human_len} rows",
            Unit::Bytes => "{bytes}/{total_bytes} ({binary_bytes_per_sec})",
        };
        let template = if progress.total > 0 {
            format!("{{spinner}} {{msg:9}} [{{wide_bar}}] {counter} {{eta}}")
        } else {
            let counter = match progress.unit {
                Unit::Rows => "{human_pos} rows",
                Unit::Bytes => "{bytes} ({binary_bytes_per_sec})",
            };
            format!("{{spinner}} {{msg:9}} {counter}")
        };
        if let Ok(style) = ProgressStyle::with_template(&template) {
            self.bar.set_style(style.progress_chars("=> "));
        }
        self.bar.set_message(label);
        if progress.total > 0 {
            self.bar.set_length(progress.total);
        } else {
            self.bar.unset_length();
        }
        self.bar.reset();
    }
}

impl ProgressSink for Bar {
    fn on_progress(&self, progress: Progress) {
        let mut shown = self.shown.lock().unwrap_or_else(PoisonError::into_inner);
        let now = (progress.phase, progress.unit);
        if *shown != Some(now) {
            self.restyle(&progress);
            *shown = Some(now);
        }
        if progress.phase == Phase::Media {
            self.bar.set_message(media_label(&progress));
        }
        self.bar.set_position(progress.done);
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

fn phase_label(phase: Phase) -> &'static str {
    match phase {
        Phase::Backup => "backup",
        Phase::Verify => "verify",
        Phase::Restore => "restore",
        Phase::Check => "check",
        Phase::Index => "index",
        Phase::Prune => "prune",
        Phase::Media => "media",
    }
}

/// The label of a media phase, which counts files beside the bytes of its bar.
fn media_label(progress: &Progress) -> String {
    if progress.files_total > 0 {
        format!(
            "media {}/{} files",
            progress.files_done, progress.files_total
        )
    } else {
        format!("media {} files", progress.files_done)
    }
}

/// Whether bars should be drawn: only for a person watching a terminal.
pub fn bars_visible(quiet: bool) -> bool {
    !quiet && std::io::stderr().is_terminal()
}

/// Cancel `token` on Ctrl-C (SIGINT): the work stops at its next check and removes what it
/// was writing. A second Ctrl-C exits at once (code 17), possibly leaving temporary files.
pub fn cancel_on_ctrl_c(token: &CancellationToken) {
    let token = token.clone();
    let installed = ctrlc::set_handler(move || {
        if token.is_cancelled() {
            std::process::exit(i32::from(ExitStatus::Cancelled.code()));
        }
        eprintln!("\nkeepsake: cancelling (press Ctrl-C again to quit at once)...");
        token.cancel();
    });
    if let Err(err) = installed {
        eprintln!("keepsake: warning: Ctrl-C will not cancel cleanly: {err}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_media_label_counts_files() {
        let mut progress = Progress {
            phase: Phase::Media,
            done: 10,
            total: 100,
            unit: Unit::Bytes,
            files_done: 3,
            files_total: 0,
        };
        assert_eq!(media_label(&progress), "media 3 files");
        progress.files_total = 12;
        assert_eq!(media_label(&progress), "media 3/12 files");
    }
}

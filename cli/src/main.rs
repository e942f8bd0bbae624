//! `keepsake`: the command-line face of keepsake-core. See `docs/CLI.md`.

mod cli;
mod commands;
mod compare;
mod error;
mod keys_dir;
mod output;
mod progress;
mod secrets;
mod stores;

use std::process::ExitCode;

use clap::Parser as _;
use keepsake_core::progress::CancellationToken;

use crate::{cli::Cli, error::classify, output::Output};

/// What every command gets besides its arguments.
pub struct Context {
    /// Where results go.
    pub output: Output,
    /// Cancelled on Ctrl-C.
    pub cancel: CancellationToken,
    /// Whether progress bars are drawn.
    pub bars: bool,
}

impl Context {
    /// A progress bar for one long operation (hidden unless a person watches stderr).
    pub fn bar(&self) -> progress::Bar {
        progress::Bar::new(self.bars)
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // Usage errors keep clap's message on stderr; scripts asking for JSON get one too.
            if err.use_stderr() && std::env::args_os().any(|arg| arg == "--json") {
                let message = err.to_string();
                let first_line = message.lines().next().unwrap_or_default();
                Output::new(true).usage_error(first_line.trim_start_matches("error: "));
            }
            // Exits with 2 for a usage error, 0 for --help and --version.
            err.exit()
        }
    };
    let context = Context {
        output: Output::new(cli.json),
        cancel: CancellationToken::new(),
        bars: progress::bars_visible(cli.quiet),
    };
    progress::cancel_on_ctrl_c(&context.cancel);
    match commands::run(cli.command, &context) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let status = classify(&err);
            context.output.error(&err, status);
            ExitCode::from(status.code())
        }
    }
}

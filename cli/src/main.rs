//! `keepsake`: the command-line face of keepsake-core. See `docs/CLI.md`.

// Pieces for the subcommands that are wired as their core modules land.
#![allow(dead_code)]

mod cli;
mod commands;
mod error;
mod keys_dir;
mod output;
mod progress;
mod secrets;

use std::process::ExitCode;

use clap::Parser;
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
    // clap exits with 2 on a usage error and 0 for --help/--version.
    let cli = Cli::parse();
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

//! One module per subcommand; [`run`] dispatches.

mod keys;
mod passkeys;
mod seed;
mod slots;
mod views;

use crate::{cli::Command, error::CliResult, Context};

/// Run the parsed subcommand.
pub fn run(command: Command, context: &Context) -> CliResult<()> {
    match command {
        Command::Seed(args) => seed::run(&args, context),
        Command::Keys(keys) => keys::run(keys, context),
    }
}

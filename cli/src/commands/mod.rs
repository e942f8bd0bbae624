//! One module per subcommand; [`run`] dispatches.

mod keys;
mod slots;

use crate::{cli::Command, error::CliResult, Context};

/// Run the parsed subcommand.
pub fn run(command: Command, context: &Context) -> CliResult<()> {
    match command {
        Command::Keys(keys) => keys::run(keys, context),
    }
}

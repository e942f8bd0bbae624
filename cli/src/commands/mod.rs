//! One module per subcommand; [`run`] dispatches.

mod backup;
mod demo;
mod demo_repo;
mod inspect;
mod keys;
mod passkeys;
mod rekey;
mod repo;
mod repo_check;
mod repo_history;
mod repo_upkeep;
mod restore;
mod seed;
mod slots;
mod unlock;
mod verify;
mod views;

use crate::{cli::Command, error::CliResult, Context};

/// Run the parsed subcommand.
pub fn run(command: Command, context: &Context) -> CliResult<()> {
    match command {
        Command::Demo(args) => demo::run(&args, context),
        Command::Seed(args) => seed::run(&args, context),
        Command::Keys(keys) => keys::run(keys, context),
        Command::Backup(args) => backup::run(&args, context),
        Command::Inspect(args) => inspect::run(&args, context),
        Command::Verify(args) => verify::run(&args, context),
        Command::Restore(args) => restore::run(&args, context),
        Command::Repo(command) => repo::run(command, context),
    }
}

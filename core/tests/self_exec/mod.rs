//! Starting this test binary again as a child process, for the kill -9 tests. Under an emulator
//! (scripts/test-cross-abi.sh runs the ARM tests under qemu-user, without binfmt_misc) the child
//! must be started through that emulator too: `KEEPSAKE_TEST_RUNNER` names it, a program and its
//! arguments separated by spaces, like cargo's `target.<triple>.runner`. Killing the emulator
//! kills the emulated process with it: qemu-user runs it inside its own process.

use std::process::Command;

/// A command that runs this test binary, through `KEEPSAKE_TEST_RUNNER` when that is set.
pub fn this_test_binary() -> Command {
    let exe = std::env::current_exe().expect("the test binary's path");
    let runner = std::env::var("KEEPSAKE_TEST_RUNNER").unwrap_or_default();
    let mut words = runner.split_whitespace();
    match words.next() {
        Some(program) => {
            let mut command = Command::new(program);
            command.args(words).arg(exe);
            command
        }
        None => Command::new(exe),
    }
}

//! `faultproxy --upstream HOST:PORT [options]`: see `keepsake_tools::config::USAGE`.

use std::process::ExitCode;

use keepsake_tools::{config, proxy};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match config::parse(&args) {
        Ok(config) => config,
        Err(message) if message.is_empty() => {
            print!("{}", config::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("faultproxy: {message}\n\n{}", config::USAGE);
            return ExitCode::from(2);
        }
    };
    let result = proxy::bind(&config).and_then(|(listener, addr)| {
        if let Some(path) = &config.port_file {
            std::fs::write(path, addr.port().to_string())?;
        }
        eprintln!("faultproxy: {addr} -> {}", config.upstream);
        proxy::serve(listener, config)
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("faultproxy: {err}");
            ExitCode::FAILURE
        }
    }
}

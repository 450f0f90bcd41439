//! # securedoc
//!
//! The one binary users run. This part seals messages into `securedoc.html`
//! envelopes (`seal`), opens them natively (`open`) and describes them without
//! any secret (`inspect`). Every failure is one line on stderr that says what
//! to do, and a non-zero exit.

#![forbid(unsafe_code)]

mod cli;
mod display;
mod envelope_file;
mod input;

use std::process::ExitCode;

use clap::Parser;

/// Memory freed is memory given back (see Cargo.toml).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cli.run() {
        Ok(code) => code,
        Err(error) => {
            // Errors quote file names, header fields and key-server answers:
            // escaped, so none can repaint the terminal.
            eprintln!(
                "securedoc: error: {}",
                display::printable(&one_line(&error))
            );
            ExitCode::from(1)
        }
    }
}

/// The error and its causes on one line: "could not read x: No such file".
fn one_line(error: &anyhow::Error) -> String {
    error
        .chain()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
}

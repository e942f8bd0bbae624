//! How results and errors reach the user: readable text, or one JSON document on stdout for
//! scripts (`--json`). Progress and warnings go to stderr so stdout stays parseable.

use std::io::{self, Write};

use serde::Serialize;

use crate::error::{CliError, CliResult, ExitStatus};

/// A command's result, printable as text or as JSON.
pub trait Report: Serialize {
    /// The readable form.
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()>;
}

/// Where a command's result goes.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    json: bool,
}

impl Output {
    /// Text output, or JSON when `json`.
    pub fn new(json: bool) -> Self {
        Output { json }
    }

    /// Whether results are printed as JSON.
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// Print a command's result on stdout.
    pub fn report(&self, report: &dyn ReportObject) -> CliResult<()> {
        self.print(report)
            .map_err(|err| CliError::io("<stdout>", err))
    }

    fn print(&self, report: &dyn ReportObject) -> io::Result<()> {
        let stdout = io::stdout();
        let mut out = stdout.lock();
        if self.json {
            writeln!(out, "{}", report.to_json())?;
        } else {
            report.write_text(&mut out)?;
        }
        out.flush()
    }

    /// Print a failure: a line on stderr, and with `--json` also a JSON document on stdout,
    /// unless the command already printed its report (which then says what failed), so that
    /// stdout always holds exactly one document.
    pub fn error(&self, err: &CliError, status: ExitStatus) {
        eprintln!("keepsake: error: {err}");
        if self.json && !err.after_report() {
            println!("{}", error_document(status, &err.to_string()));
        }
    }

    /// A usage error found by the argument parser, as JSON on stdout (clap prints the text).
    pub fn usage_error(&self, message: &str) {
        if self.json {
            println!("{}", error_document(ExitStatus::Usage, message));
        }
    }
}

/// The JSON document of a failure: `{"error": {"kind", "exit_code", "message"}}`.
fn error_document(status: ExitStatus, message: &str) -> serde_json::Value {
    serde_json::json!({
        "error": {
            "kind": status.kind(),
            "exit_code": status.code(),
            "message": message,
        }
    })
}

/// Object-safe view of a [`Report`], so commands can hand back any report type.
pub trait ReportObject {
    /// The JSON form.
    fn to_json(&self) -> String;
    /// The readable form.
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()>;
}

impl<T: Report> ReportObject for T {
    fn to_json(&self) -> String {
        serde_json::to_string_pretty(self)
            .unwrap_or_else(|err| format!("{{\"error\":\"unserializable report: {err}\"}}"))
    }

    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        Report::write_text(self, out)
    }
}

/// `bytes` as a short human size (KiB, MiB, GiB).
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    match (unit, UNITS.get(unit)) {
        (0, _) => format!("{bytes} B"),
        (_, Some(name)) => format!("{value:.1} {name}"),
        (_, None) => format!("{bytes} B"),
    }
}

/// `n` with thousands separators: 100000 -> "100,000".
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(100_000), "100,000");
        assert_eq!(grouped(1_234_567), "1,234,567");
    }

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(5 * 1024 * 1024), "5.0 MiB");
    }
}

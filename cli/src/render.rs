//! How results and reports look on a terminal.

use ferry_core::pipeline::{RunReport, StreamStatus};
use indicatif::HumanBytes;

/// An error and its causes on one line, without repeating a cause the message
/// already contains.
pub fn error_text(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// The end-of-run summary, one line per stream.
pub fn run_summary(report: &RunReport) -> String {
    let mut out = String::new();
    let width = report
        .streams
        .iter()
        .map(|s| s.name.len())
        .max()
        .unwrap_or(6)
        .max(6);
    for s in &report.streams {
        let status = match s.status {
            StreamStatus::Written if s.resumed_rows > 0 => {
                format!("resumed after {} rows", s.resumed_rows)
            }
            StreamStatus::Written => "ok".to_owned(),
            StreamStatus::AlreadyWritten => "done in the interrupted run".to_owned(),
            StreamStatus::Failed => "FAILED".to_owned(),
        };
        out.push_str(&format!(
            "  {:<width$}  {:>12} rows  {:>10}  {:>6.1}s  {}\n",
            s.name,
            s.rows,
            HumanBytes(s.bytes).to_string(),
            s.seconds,
            status
        ));
        if let Some(e) = &s.error {
            out.push_str(&format!("  {:<width$}  {e}\n", ""));
        }
    }
    let failed = report
        .streams
        .iter()
        .filter(|s| s.status == StreamStatus::Failed)
        .count();
    out.push_str(&format!(
        "{} streams, {} rows in {:.1}s{}{}",
        report.streams.len(),
        report.total_rows(),
        report.seconds,
        if report.resumed {
            " (resumed an interrupted run)"
        } else {
            ""
        },
        if failed > 0 {
            format!("; {failed} failed (rerun to resume them)")
        } else {
            String::new()
        }
    ));
    out
}

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

/// A stream's schema changes and the policy's warnings, one indented line each, under
/// the stream's line of a summary whose names are `width` wide.
pub fn schema_lines(
    changes: &[ferry_core::drift::Change],
    warnings: &[String],
    width: usize,
) -> String {
    let mut out = String::new();
    for c in changes {
        out.push_str(&format!("  {:<width$}  schema: {c}\n", ""));
    }
    for w in warnings {
        out.push_str(&format!("  {:<width$}  warning: {w}\n", ""));
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
        out.push_str(&schema_lines(&s.schema_changes, &s.warnings, width));
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
    let stopped = report
        .streams
        .iter()
        .any(|s| s.status == StreamStatus::Failed && !s.schema_changes.is_empty());
    if stopped {
        out.push_str(
            "\na stream stopped by its schema policy runs again once the change is expected: \
             --schema-policy evolve (or freeze), or schema_policy in the job file",
        );
    }
    for name in &report.streams_gone {
        out.push_str(&format!(
            "\n{name}: gone (the source no longer has it; its output is kept)"
        ));
    }
    if let Some(line) = report.source_stats.as_ref().and_then(traffic_line) {
        out.push('\n');
        out.push_str(&line);
    }
    out
}

/// `HTTP: 120 requests, 3 retries (429: 1, 5xx: 1, timeouts: 1, connection: 0)`,
/// from the counters of an HTTP source.
fn traffic_line(stats: &serde_json::Value) -> Option<String> {
    let n = |k: &str| {
        stats
            .get(k)
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0)
    };
    stats.get("requests")?;
    Some(format!(
        "HTTP: {} requests, {} retries (429: {}, 5xx: {}, timeouts: {}, connection: {})",
        n("requests"),
        n("retries"),
        n("throttled"),
        n("server_errors"),
        n("timeouts"),
        n("connection_errors")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_core::pipeline::StreamReport;
    use ferry_core::sink::WriteMode;

    #[test]
    fn the_summary_shows_http_retries() {
        let report = RunReport {
            run_id: "r1".into(),
            resumed: false,
            source: "odoo 127.0.0.1:8069/demo".into(),
            sink: "parquet out".into(),
            started_at: "2026-11-29T00:00:00Z".into(),
            seconds: 1.25,
            streams: vec![StreamReport {
                name: "res.partner".into(),
                status: StreamStatus::Written,
                rows: 50,
                resumed_rows: 0,
                bytes: 2048,
                files: 1,
                mode: WriteMode::Replace,
                seconds: 1.0,
                error: None,
                changes: None,
                schema_changes: vec![ferry_core::drift::Change::ColumnAdded {
                    column: "x_studio_colour".into(),
                    data_type: "Utf8".into(),
                }],
                warnings: Vec::new(),
            }],
            streams_gone: vec!["res.partner.old".into()],
            source_stats: Some(serde_json::json!({
                "requests": 9, "retries": 4, "throttled": 1, "server_errors": 2,
                "timeouts": 1, "connection_errors": 0
            })),
        };
        let text = run_summary(&report);
        assert!(
            text.contains("schema: column x_studio_colour added (Utf8)"),
            "{text}"
        );
        assert!(text.contains("res.partner.old: gone"), "{text}");
        assert!(
            text.ends_with(
                "\nHTTP: 9 requests, 4 retries (429: 1, 5xx: 2, timeouts: 1, connection: 0)"
            ),
            "{text}"
        );
        let plain = RunReport {
            source_stats: None,
            ..report
        };
        assert!(!run_summary(&plain).contains("HTTP"));
    }
}

//! Progress bars on stderr: one line per stream with rows, rows/s and bytes.
//! Hidden with `--quiet` and when stderr is not a terminal.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use ferry_core::StreamSpec;
use ferry_core::pipeline::{Observer, StreamReport, StreamStatus};
use indicatif::{HumanBytes, MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Bars {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, (ProgressBar, u64)>>,
}

impl Bars {
    pub fn new(quiet: bool) -> Self {
        let target = if quiet {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr_with_hz(8)
        };
        Bars {
            multi: MultiProgress::with_draw_target(target),
            bars: Mutex::new(HashMap::new()),
        }
    }
}

fn style(known_total: bool) -> ProgressStyle {
    let template = if known_total {
        "{spinner:.cyan} {prefix:<24.bold} [{bar:24.cyan/blue}] {human_pos}/{human_len} rows  {per_sec}  {msg}"
    } else {
        "{spinner:.cyan} {prefix:<24.bold} {human_pos} rows  {per_sec}  {msg}"
    };
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
        .progress_chars("=> ")
}

impl Observer for Bars {
    fn stream_started(&self, spec: &StreamSpec, resumed_rows: u64) {
        let bar = match spec.row_estimate {
            Some(n) => ProgressBar::new(n).with_style(style(true)),
            None => ProgressBar::new_spinner().with_style(style(false)),
        };
        let bar = self.multi.add(bar);
        bar.set_prefix(spec.name.clone());
        bar.set_position(resumed_rows);
        bar.enable_steady_tick(Duration::from_millis(200));
        if let Ok(mut bars) = self.bars.lock() {
            bars.insert(spec.name.clone(), (bar, 0));
        }
    }

    fn batch_written(&self, stream: &str, rows: usize, bytes: usize) {
        if let Ok(mut bars) = self.bars.lock()
            && let Some((bar, total)) = bars.get_mut(stream)
        {
            *total += bytes as u64;
            bar.inc(rows as u64);
            bar.set_message(format!("{} in memory", HumanBytes(*total)));
        }
    }

    fn stream_finished(&self, report: &StreamReport) {
        if let Ok(mut bars) = self.bars.lock()
            && let Some((bar, _)) = bars.remove(&report.name)
        {
            match report.status {
                StreamStatus::Failed => bar.abandon_with_message("failed"),
                _ => bar.finish_and_clear(),
            }
        }
    }
}

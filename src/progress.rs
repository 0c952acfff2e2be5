//! The progress bar on stderr for queries running longer than a second: how much of the files
//! to scan is done, rows/s, elapsed time and ETA, redrawn in place and erased when results
//! print or the query ends (docs/repl.md, "Progress").

use crate::terminal::Screen;
use std::io::Write;
use std::time::{Duration, Instant};
use strata_sql::ScanProgress;

/// Quick queries should not flicker a line that disappears at once.
const QUIET_PERIOD: Duration = Duration::from_secs(1);

/// Cells of the bar itself.
const BAR_CELLS: usize = 20;

/// An ETA from the first few percent is mostly noise.
const ETA_AFTER: f64 = 0.05;

pub struct Progress {
    start: Instant,
    /// The terminal the bar draws on; None draws nothing (stderr is a pipe or a log).
    screen: Option<Screen>,
    /// Width of what is on screen, so erasing needs no terminal escape codes (works on
    /// `TERM=dumb` too).
    drawn: usize,
}

impl Progress {
    /// Draws only when `wanted` (the REPL) and stderr is a terminal.
    pub fn new(wanted: bool) -> Self {
        Progress {
            start: Instant::now(),
            screen: wanted.then(Screen::of_stderr).flatten(),
            drawn: 0,
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Redraws the bar: `rows` is what the result has produced, `scan` what its scans read.
    pub fn update(&mut self, rows: usize, scan: ScanProgress) {
        let elapsed = self.start.elapsed();
        let Some(screen) = self.screen else { return };
        if elapsed < QUIET_PERIOD {
            return;
        }
        let line = line(elapsed, rows, &scan, screen.columns.saturating_sub(1));
        let width = line.chars().count();
        let pad = self.drawn.saturating_sub(width);
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r{line}{:pad$}", "");
        let _ = err.flush();
        self.drawn = width;
    }

    /// Erases the bar; call before writing results to a terminal and when the query ends.
    pub fn clear(&mut self) {
        if self.drawn == 0 {
            return;
        }
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r{:width$}\r", "", width = self.drawn);
        let _ = err.flush();
        self.drawn = 0;
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.clear();
    }
}

/// The progress line, at most `width` characters (a line that wraps could not be erased with
/// `\r`). The share done counts files, not bytes: scans read only the columns and row groups
/// they need, so bytes read never reach the files' size, while every planned file does get
/// finished. One file gives no useful share, so then only the counters show.
fn line(elapsed: Duration, rows: usize, scan: &ScanProgress, width: usize) -> String {
    let secs = elapsed.as_secs_f64();
    let rate = (scan.rows as f64 / secs.max(1e-3)) as usize;
    let mut parts = Vec::new();
    if scan.files > 1 {
        let done = scan.files_done.min(scan.files);
        let share = done as f64 / scan.files as f64;
        parts.push(format!(
            "{} {:>3}%",
            bar(share, BAR_CELLS),
            (share * 100.0).floor()
        ));
        parts.push(format!(
            "{done}/{} files of {}",
            scan.files,
            human_bytes(scan.file_bytes)
        ));
        let eta = match share {
            s if s >= ETA_AFTER && s < 1.0 => format!(", ETA {}", clock(secs * (1.0 - s) / s)),
            _ => String::new(),
        };
        parts.push(format!("{}{eta}", clock(secs)));
    } else {
        parts.push(clock(secs));
    }
    if scan.rows > 0 {
        parts.push(format!(
            "{} rows scanned, {}/s",
            group_thousands(scan.rows),
            group_thousands(rate)
        ));
    }
    if rows > 0 {
        parts.push(format!("{} rows out", group_thousands(rows)));
    }
    parts.push("Ctrl-C cancels".to_string());
    // On a narrow terminal whole parts go, least telling first (the hint, then the counters),
    // rather than a line cut mid-word; the bar and the share go last.
    for drop in ["Ctrl-C cancels", " rows out", " rows scanned"] {
        if parts.join(" · ").chars().count() <= width {
            break;
        }
        parts.retain(|p| !p.contains(drop));
    }
    let text = parts.join(" · ");
    match text.chars().count() > width {
        true => text.chars().take(width).collect(),
        false => text,
    }
}

/// A bar of `cells` cells, filled to `share` in eighths of a cell.
fn bar(share: f64, cells: usize) -> String {
    const PARTS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
    let eighths = (share.clamp(0.0, 1.0) * (cells * 8) as f64).round() as usize;
    let mut s = String::from("▕");
    for cell in 0..cells {
        let filled = eighths.saturating_sub(cell * 8).min(8);
        s.push(if filled == 8 { '█' } else { PARTS[filled] });
    }
    s.push('▏');
    s
}

/// Seconds as `4.2 s`, `3 min 05 s` or `2 h 03 min`.
fn clock(secs: f64) -> String {
    match secs {
        s if s < 60.0 => format!("{s:.1} s"),
        s if s < 3600.0 => format!("{} min {:02} s", (s / 60.0) as u64, (s % 60.0) as u64),
        s => format!(
            "{} h {:02} min",
            (s / 3600.0) as u64,
            ((s % 3600.0) / 60.0) as u64
        ),
    }
}

fn human_bytes(n: u64) -> String {
    let mut v = n as f64;
    for unit in ["B", "KB", "MB", "GB", "TB"] {
        if v < 1024.0 {
            return format!("{v:.1} {unit}");
        }
        v /= 1024.0;
    }
    format!("{v:.1} PB")
}

fn group_thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands() {
        assert_eq!(group_thousands(0), "0");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(1234567), "1,234,567");
    }

    #[test]
    fn bar_fills_in_eighths() {
        assert_eq!(bar(0.0, 4), "▕    ▏");
        assert_eq!(bar(0.5, 4), "▕██  ▏");
        assert_eq!(bar(0.5625, 4), "▕██▎ ▏");
        assert_eq!(bar(1.0, 4), "▕████▏");
        assert_eq!(bar(7.0, 2), "▕██▏");
    }

    #[test]
    fn line_shows_share_of_files_rate_and_eta() {
        let scan = ScanProgress {
            rows: 3_000_000,
            bytes: 1 << 20,
            files_done: 8,
            files: 32,
            file_bytes: 3 << 30,
        };
        let text = line(Duration::from_secs(2), 10, &scan, 200);
        assert_eq!(
            text,
            "▕█████               ▏  25% · 8/32 files of 3.0 GB · 2.0 s, ETA 6.0 s · \
             3,000,000 rows scanned, 1,500,000/s · 10 rows out · Ctrl-C cancels"
        );
        // One file: no share to show, only counters; never wider than the terminal.
        let one = ScanProgress { files: 1, ..scan };
        assert_eq!(
            line(Duration::from_secs(90), 0, &one, 200),
            "1 min 30 s · 3,000,000 rows scanned, 33,333/s · Ctrl-C cancels"
        );
        assert_eq!(
            line(Duration::from_secs(2), 10, &scan, 120),
            "▕█████               ▏  25% · 8/32 files of 3.0 GB · 2.0 s, ETA 6.0 s · \
             3,000,000 rows scanned, 1,500,000/s"
        );
        assert_eq!(
            line(Duration::from_secs(2), 10, &scan, 70),
            "▕█████               ▏  25% · 8/32 files of 3.0 GB · 2.0 s, ETA 6.0 s"
        );
        assert_eq!(
            line(Duration::from_secs(2), 10, &scan, 20).chars().count(),
            20
        );
    }
}

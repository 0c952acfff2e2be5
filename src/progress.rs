//! The progress line on stderr for queries running longer than a second: elapsed time and rows
//! produced so far, redrawn in place and erased when the query ends.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Quick queries should not flicker a line that disappears at once.
const QUIET_PERIOD: Duration = Duration::from_secs(1);

pub struct Progress {
    start: Instant,
    enabled: bool,
    /// Width of what is on screen, so erasing needs no terminal escape codes (works on
    /// `TERM=dumb` too).
    drawn: usize,
}

impl Progress {
    /// Draws only when stderr is a terminal: in pipes and logs the line would be noise.
    pub fn new(wanted: bool) -> Self {
        Progress {
            start: Instant::now(),
            enabled: wanted && std::io::stderr().is_terminal(),
            drawn: 0,
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// `scanned` is what the query's file scans have read: (rows, bytes).
    pub fn update(&mut self, rows: usize, scanned: (usize, usize)) {
        let elapsed = self.start.elapsed();
        if !self.enabled || elapsed < QUIET_PERIOD {
            return;
        }
        let line = format!(
            "{:.1} s, {} rows so far, scanned {} rows{} (Ctrl-C cancels)",
            elapsed.as_secs_f64(),
            group_thousands(rows),
            group_thousands(scanned.0),
            if scanned.1 > 0 {
                format!(" / {}", human_bytes(scanned.1))
            } else {
                String::new()
            },
        );
        let pad = self.drawn.saturating_sub(line.len());
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r{line}{:pad$}", "");
        let _ = err.flush();
        self.drawn = line.len();
    }

    /// Erases the line; call before writing results to a terminal and when the query ends.
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

fn human_bytes(n: usize) -> String {
    let mut v = n as f64;
    for unit in ["B", "KB", "MB", "GB"] {
        if v < 1024.0 {
            return format!("{v:.1} {unit}");
        }
        v /= 1024.0;
    }
    format!("{v:.1} TB")
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
    #[test]
    fn thousands() {
        assert_eq!(super::group_thousands(0), "0");
        assert_eq!(super::group_thousands(999), "999");
        assert_eq!(super::group_thousands(1234567), "1,234,567");
    }
}

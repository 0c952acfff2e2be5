//! The terminal the REPL draws on: whether results go to one, and its size, so tables, charts,
//! the pager and the progress bar fit it (docs/repl.md, "Fitting the screen").
use std::io::IsTerminal;

/// A terminal's size in character cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Screen {
    pub columns: usize,
    pub lines: usize,
}

/// What a terminal is assumed to be when it cannot say (a serial console, some CI ptys).
const FALLBACK: Screen = Screen {
    columns: 80,
    lines: 24,
};

impl Screen {
    /// The screen stdout draws on, or None when stdout is not a terminal (piped, redirected):
    /// there, output is for programs and is never fitted, paged or coloured.
    pub fn of_stdout() -> Option<Screen> {
        let stdout = std::io::stdout();
        stdout
            .is_terminal()
            .then(|| Screen::measure(terminal_size::terminal_size_of(&stdout)))
    }

    /// The screen stderr draws on (the progress bar's), or None when it is not a terminal.
    pub fn of_stderr() -> Option<Screen> {
        let stderr = std::io::stderr();
        stderr
            .is_terminal()
            .then(|| Screen::measure(terminal_size::terminal_size_of(&stderr)))
    }

    /// `COLUMNS`/`LINES`, when set to numbers, win over what the terminal says, as in psql:
    /// a user can fit output to a window narrower than the terminal.
    fn measure(size: Option<(terminal_size::Width, terminal_size::Height)>) -> Screen {
        let env = |name| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .filter(|n| *n > 0)
        };
        let (w, h) = match size {
            Some((w, h)) if w.0 > 0 && h.0 > 0 => (w.0 as usize, h.0 as usize),
            _ => (FALLBACK.columns, FALLBACK.lines),
        };
        Screen {
            columns: env("COLUMNS").unwrap_or(w),
            lines: env("LINES").unwrap_or(h),
        }
    }
}

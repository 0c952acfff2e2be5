//! Results taller than the screen go through the user's pager, as in psql: `$PSQL_PAGER`, else
//! `$PAGER`, else `less`, run with `sh -c`; an empty variable turns paging off
//! (docs/repl.md, "Pager").
use std::io::Write;
use std::process::{Command, Stdio};

/// `\pset pager`: off, on (only when the result is taller than the screen) or always.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PagerMode {
    Off,
    On,
    Always,
}

/// The pager command, or None when the user set the variable empty (psql's way to turn the
/// pager off from the environment).
pub fn command() -> Option<String> {
    for name in ["PSQL_PAGER", "PAGER"] {
        if let Ok(value) = std::env::var(name) {
            return (!value.trim().is_empty()).then_some(value);
        }
    }
    Some("less".to_string())
}

/// Whether a text of `lines` lines goes through the pager on a screen `screen_lines` tall.
/// `>=` leaves room for the prompt that follows, as psql does.
pub fn wanted(mode: PagerMode, lines: usize, screen_lines: usize) -> bool {
    match mode {
        PagerMode::Off => false,
        PagerMode::Always => true,
        PagerMode::On => lines >= screen_lines,
    }
}

/// Shows `text` in the pager and waits for it to end. Err when no pager could be started, so
/// the caller prints the text itself; a pager the user quit early is not an error.
pub fn show(pager: &str, text: &str) -> std::io::Result<()> {
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(pager).stdin(Stdio::piped());
    // less: chop long lines rather than wrap them (wide tables scroll sideways), pass colours,
    // quit at once if it all fits, and leave the text on screen. Only when the user has no
    // LESS of their own, as git does.
    if std::env::var_os("LESS").is_none() {
        cmd.env("LESS", "-SRFX");
    }
    let mut child = cmd.spawn()?;
    // Spawned first, so the pager keeps the default disposition and handles Ctrl-C itself.
    let _quiet = IgnoreInterrupts::new();
    if let Some(mut stdin) = child.stdin.take() {
        match stdin.write_all(text.as_bytes()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                let _ = child.wait();
                return Err(e);
            }
            _ => {}
        }
    }
    let status = child.wait()?;
    // `sh -c` answers 127 when the command does not exist: then nothing was shown.
    if status.code() == Some(127) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("pager not found: {pager}"),
        ));
    }
    Ok(())
}

/// Ctrl-C while the pager runs belongs to the pager (less stops a search with it), as in psql
/// and git: Strata must neither die nor leave the pager reading the terminal. The previous
/// disposition (the REPL's own handler, or the default) comes back when this is dropped.
struct IgnoreInterrupts {
    #[cfg(unix)]
    previous: libc::sigaction,
}

impl IgnoreInterrupts {
    fn new() -> Self {
        #[cfg(unix)]
        // SAFETY: sigaction with a zeroed struct asking for SIG_IGN, and a place for the old
        // disposition; no handler code of ours runs in signal context.
        unsafe {
            let mut ignore: libc::sigaction = std::mem::zeroed();
            ignore.sa_sigaction = libc::SIG_IGN;
            let mut previous: libc::sigaction = std::mem::zeroed();
            libc::sigaction(libc::SIGINT, &ignore, &mut previous);
            IgnoreInterrupts { previous }
        }
        #[cfg(not(unix))]
        IgnoreInterrupts {}
    }
}

impl Drop for IgnoreInterrupts {
    fn drop(&mut self) {
        #[cfg(unix)]
        // SAFETY: puts back exactly the disposition sigaction reported before.
        unsafe {
            libc::sigaction(libc::SIGINT, &self.previous, std::ptr::null_mut());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_only_what_does_not_fit() {
        assert!(!wanted(PagerMode::On, 10, 24));
        assert!(wanted(PagerMode::On, 24, 24));
        assert!(wanted(PagerMode::Always, 1, 24));
        assert!(!wanted(PagerMode::Off, 1000, 24));
    }

    #[test]
    fn a_pager_reads_everything_and_a_missing_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("seen");
        let pager = format!("cat > '{}'", file.display());
        show(&pager, "a\nb\n").unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "a\nb\n");
        assert!(show("no-such-pager-here", "x").is_err());
        // A pager that quits without reading (the user pressed q at once) is not an error.
        show("true", &"row\n".repeat(100_000)).unwrap();
    }
}

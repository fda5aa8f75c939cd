//! The only module that writes to the terminal. stdout carries results (and `--json`); stderr
//! carries status, warnings and errors. Colour comes from anstream, which honours `NO_COLOR`,
//! `CLICOLOR_FORCE` and whether the stream is a terminal.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{self, IsTerminal, Write};

use anstyle::{AnsiColor, Style};

use crate::error::Error;

const ERROR: Style = AnsiColor::Red.on_default().bold();
const WARN: Style = AnsiColor::Yellow.on_default().bold();
const HINT: Style = AnsiColor::Cyan.on_default();
const OK: Style = AnsiColor::Green.on_default();
const DIM: Style = Style::new().dimmed();

/// How colour is chosen: `--color auto|always|never`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

pub fn set_color(choice: ColorChoice) {
    let choice = match choice {
        ColorChoice::Auto if crate::env::no_color() => anstream::ColorChoice::Never,
        ColorChoice::Auto => anstream::ColorChoice::Auto,
        ColorChoice::Always => anstream::ColorChoice::Always,
        ColorChoice::Never => anstream::ColorChoice::Never,
    };
    choice.write_global();
}

/// A one-line value that came from data (a plan, the notes, a file name, a configuration key)
/// made safe to print: every control character a terminal could act on (ESC above all, also the
/// rest of C0, newlines and tabs included, DEL and C1) is shown as `\u{1b}` and the like.
/// Our own colour codes are added around escaped text, never inside it.
pub fn escape(text: &str) -> Cow<'_, str> {
    escape_with(text, false)
}

/// [`escape`] for multi-line text (a brief, a command's output): newlines and tabs are kept.
pub fn escape_text(text: &str) -> Cow<'_, str> {
    escape_with(text, true)
}

fn escape_with(text: &str, multiline: bool) -> Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() && !(multiline && (c == '\n' || c == '\t'));
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Set once stdout's reader has gone away: later results are dropped.
static STDOUT_CLOSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A closed pipe (`… | head`, `… | true`) stops the output quietly, and only the output: the
/// command goes on to its verdict, so the exit code still says whether a gate failed.
fn unless_closed(write: impl FnOnce() -> io::Result<()>) -> io::Result<()> {
    use std::sync::atomic::Ordering;
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return Ok(());
    }
    match write() {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
            STDOUT_CLOSED.store(true, Ordering::Relaxed);
            Ok(())
        }
        other => other,
    }
}

/// Write a result line to stdout.
pub fn out(text: &str) -> io::Result<()> {
    unless_closed(|| {
        let mut stdout = anstream::stdout().lock();
        stdout.write_all(text.as_bytes())?;
        if !text.ends_with('\n') {
            stdout.write_all(b"\n")?;
        }
        stdout.flush()
    })
}

/// Print a value as pretty JSON on stdout. JSON never carries colour, so it bypasses the
/// escape-stripping stream.
pub fn json<T: serde::Serialize>(value: &T) -> io::Result<()> {
    let mut text = serde_json::to_vec_pretty(value).map_err(io::Error::other)?;
    text.push(b'\n');
    unless_closed(|| {
        let mut stdout = io::stdout().lock();
        stdout.write_all(&text)?;
        stdout.flush()
    })
}

/// A status line on stderr ("created branch …"). Status, warnings, hints and errors are plain
/// text that may quote data, so each is escaped here ([`escape_text`]).
pub fn status(text: &str) {
    let _ = writeln!(anstream::stderr(), "{}", escape_text(text));
}

pub fn success(text: &str) {
    let _ = writeln!(anstream::stderr(), "{OK}{}{OK:#}", escape_text(text));
}

pub fn warn(text: &str) {
    let _ = writeln!(anstream::stderr(), "{WARN}warning:{WARN:#} {}", escape_text(text));
}

pub fn hint(text: &str) {
    let _ = writeln!(anstream::stderr(), "{HINT}hint:{HINT:#} {}", escape_text(text));
}

pub fn error(err: &Error) {
    let mut stderr = anstream::stderr().lock();
    let _ = writeln!(stderr, "{ERROR}error:{ERROR:#} {}", escape_text(&err.message));
    for cause in &err.causes {
        let _ = writeln!(stderr, "caused by: {}", escape_text(cause));
    }
    for hint in &err.hints {
        let _ = writeln!(stderr, "{HINT}hint:{HINT:#} {}", escape_text(hint));
    }
}

/// Styles for result text composed by commands (tables): applied only where colour is on.
pub fn paint(style: Paint, text: &str) -> String {
    let s = match style {
        Paint::Ok => OK,
        Paint::Warn => WARN,
        Paint::Bad => ERROR,
        Paint::Dim => DIM,
        Paint::Bold => Style::new().bold(),
    };
    format!("{s}{text}{s:#}")
}

#[derive(Debug, Clone, Copy)]
pub enum Paint {
    Ok,
    Warn,
    Bad,
    Dim,
    Bold,
}

/// A progress line on stderr for long work: shown only on a terminal, only after 250 ms, and
/// rewritten in place.
pub struct Progress {
    start: std::time::Instant,
    shown: bool,
    tty: bool,
}

impl Progress {
    pub fn new() -> Self {
        Self { start: std::time::Instant::now(), shown: false, tty: io::stderr().is_terminal() }
    }

    pub fn show(&mut self, text: &str) {
        if self.tty && self.start.elapsed() >= std::time::Duration::from_millis(250) {
            let _ = write!(anstream::stderr(), "\r{}\x1b[K", escape(text));
            self.shown = true;
        }
    }

    pub fn clear(&mut self) {
        if self.shown {
            let _ = write!(anstream::stderr(), "\r\x1b[K");
            self.shown = false;
        }
    }
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether results go to a terminal (tables for people) or elsewhere (plain lines for logs and
/// tools). In a git hook, stdout is git's stderr.
pub fn stdout_is_terminal() -> bool {
    io::stdout().is_terminal()
}

/// Whether we may ask the user a question: only when stdin is a terminal.
pub fn interactive() -> bool {
    io::stdin().is_terminal()
}

/// Ask a yes/no question on stderr and read the answer from stdin. Anything but y/yes is no.
pub fn confirm(question: &str) -> io::Result<bool> {
    {
        let mut stderr = anstream::stderr().lock();
        write!(stderr, "{question} [y/N] ")?;
        stderr.flush()?;
    }
    let mut answer = String::new();
    io::stdin().read_line(&mut answer)?;
    Ok(matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
}

#[cfg(test)]
mod tests {
    use super::{escape, escape_text};

    #[test]
    fn control_characters_from_data_are_shown_not_sent() {
        assert_eq!(escape("plain text"), "plain text");
        assert!(matches!(escape("plain"), std::borrow::Cow::Borrowed(_)));
        assert_eq!(escape("a\u{1b}[31mred\u{7}"), "a\\u{1b}[31mred\\u{7}");
        assert_eq!(escape("line\nnext\ttab\rcr\u{7f}\u{9b}"), "line\\u{a}next\\u{9}tab\\u{d}cr\\u{7f}\\u{9b}");
        assert_eq!(escape_text("line\nnext\ttab\r\u{1b}"), "line\nnext\ttab\\u{d}\\u{1b}");
        assert_eq!(escape("naïve — ünïcode"), "naïve — ünïcode");
    }
}

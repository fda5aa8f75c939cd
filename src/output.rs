//! The only module that writes to the terminal, through the [`Ui`] each command is handed.
//! stdout carries results (and `--json`); stderr carries status, warnings, errors, progress and
//! prompts. Colour comes from anstream, which honours `NO_COLOR`,
//! `CLICOLOR_FORCE` and whether the stream is a terminal.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
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

/// Where a [`Ui`] writes: the process's own streams, or buffers read back afterwards.
enum Sink {
    Terminal,
    Capture(RefCell<Captured>),
}

#[derive(Default)]
struct Captured {
    out: Vec<u8>,
    err: Vec<u8>,
}

/// Who answers a yes/no question.
enum Input {
    /// A person at stdin (asked only when stdin is a terminal).
    Stdin,
    /// Given answers, taken in order; none left is no. Stdin is never read.
    Answers(VecDeque<bool>),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Stream {
    Out,
    Err,
}

/// What a command writes to and asks through, handed to it by `cmd::dispatch` (in the spirit of
/// cargo's `Shell` and jj's `Ui`): stdout for results and JSON, stderr for status, warnings,
/// hints, errors, the progress line and prompts.
///
/// [`Ui::terminal`] writes to the process's streams, colour chosen as `--color` says;
/// [`Ui::capture`] writes to buffers read back with [`Ui::stdout`] and [`Ui::stderr`], never
/// reads stdin, and answers every question no unless given answers ([`Ui::with_answers`]).
///
/// A closed stdout (`… | head`, `… | true`) stops the results quietly, and only them: the
/// command runs on to its verdict, and [`Ui::exit_code`] gives that verdict, not 0.
pub struct Ui {
    sink: Sink,
    color: anstream::ColorChoice,
    input: RefCell<Input>,
    /// Status, successes, hints and the progress line are left out; results, warnings and
    /// errors are not.
    quiet: bool,
    /// stderr's lines go where stdout's do (the tour, to be paged).
    merged: Cell<bool>,
    /// Set once stdout's reader has gone away: later results are dropped.
    stdout_closed: Cell<bool>,
}

impl Ui {
    /// The process's stdout and stderr, coloured as `choice` says (`auto`: on a terminal, unless
    /// `NO_COLOR`), and questions asked on stdin.
    pub fn terminal(choice: ColorChoice) -> Self {
        let color = match choice {
            ColorChoice::Auto if crate::env::no_color() => anstream::ColorChoice::Never,
            ColorChoice::Auto => anstream::ColorChoice::Auto,
            ColorChoice::Always => anstream::ColorChoice::Always,
            ColorChoice::Never => anstream::ColorChoice::Never,
        };
        Self::with_sink(Sink::Terminal, color, Input::Stdin)
    }

    /// Output kept in memory, without colour, read back with [`Ui::stdout`] and [`Ui::stderr`];
    /// nobody to ask: stdin is never read, and every question is answered no.
    pub fn capture() -> Self {
        let sink = Sink::Capture(RefCell::default());
        Self::with_sink(sink, anstream::ColorChoice::Never, Input::Answers(VecDeque::new()))
    }

    fn with_sink(sink: Sink, color: anstream::ColorChoice, input: Input) -> Self {
        Self {
            sink,
            color,
            input: RefCell::new(input),
            quiet: false,
            merged: Cell::new(false),
            stdout_closed: Cell::new(false),
        }
    }

    /// Questions answered with these, in order, as a person at a terminal would (a captured
    /// Ui becomes [`Ui::interactive`]); once they run out, the answer is no.
    #[must_use]
    pub fn with_answers(self, answers: impl IntoIterator<Item = bool>) -> Self {
        *self.input.borrow_mut() = Input::Answers(answers.into_iter().collect());
        self
    }

    /// Keep our colour codes in what is captured (a terminal Ui is coloured as it was made).
    #[must_use]
    pub fn with_color(mut self) -> Self {
        if matches!(self.sink, Sink::Capture(_)) {
            self.color = anstream::ColorChoice::Always;
        }
        self
    }

    /// Say only what matters to a reader that is a program: results, warnings and errors; no
    /// status lines, successes, hints or progress.
    #[must_use]
    pub fn quiet(mut self) -> Self {
        self.quiet = true;
        self
    }

    /// What was written to stdout, when captured (empty otherwise).
    pub fn stdout(&self) -> String {
        self.captured(|c| &c.out)
    }

    /// What was written to stderr, when captured (empty otherwise).
    pub fn stderr(&self) -> String {
        self.captured(|c| &c.err)
    }

    fn captured(&self, stream: impl FnOnce(&Captured) -> &Vec<u8>) -> String {
        match &self.sink {
            Sink::Terminal => String::new(),
            Sink::Capture(c) => String::from_utf8_lossy(stream(&c.borrow())).into_owned(),
        }
    }

    /// From now on, what goes to stderr goes to stdout: one stream, to be paged (the tour). On
    /// the terminal it is the process's stderr itself (commands we run inherit it).
    pub fn merge_stderr_into_stdout(&self) {
        if matches!(self.sink, Sink::Terminal) {
            let _ = rustix::stdio::dup2_stderr(io::stdout());
        }
        self.merged.set(true);
    }

    /// Whether stdout's reader has gone away.
    pub fn stdout_closed(&self) -> bool {
        self.stdout_closed.get()
    }

    /// Hand one of our streams to `write`: `styled` text through anstream (our colour codes
    /// kept or stripped as chosen), else the bytes as they are (JSON, prompts).
    fn write(
        &self,
        stream: Stream,
        styled: bool,
        write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> io::Result<()> {
        fn styled_or_raw<W: anstream::stream::RawStream + anstream::stream::AsLockedWrite>(
            raw: W,
            styled: Option<anstream::ColorChoice>,
            write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
        ) -> io::Result<()> {
            if let Some(color) = styled {
                write(&mut anstream::AutoStream::new(raw, color))
            } else {
                let mut raw = raw;
                write(&mut raw)
            }
        }
        let styled = styled.then_some(self.color);
        match &self.sink {
            Sink::Terminal if stream == Stream::Out => styled_or_raw(io::stdout().lock(), styled, write),
            Sink::Terminal => styled_or_raw(io::stderr().lock(), styled, write),
            Sink::Capture(c) => {
                let mut c = c.borrow_mut();
                let buf = if stream == Stream::Out || self.merged.get() { &mut c.out } else { &mut c.err };
                styled_or_raw(buf, styled, write)
            }
        }
    }

    /// A result on stdout. A closed pipe stops the results quietly, and only them: the command
    /// goes on to its verdict, so the exit code still says whether a gate failed.
    fn write_out(&self, styled: bool, write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
        if self.stdout_closed.get() {
            return Ok(());
        }
        match self.write(Stream::Out, styled, write) {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.stdout_closed.set(true);
                Ok(())
            }
            other => other,
        }
    }

    /// A line on stderr; a failure to write it is not the command's failure.
    fn err_line(&self, line: std::fmt::Arguments<'_>) {
        let _ = self.write(Stream::Err, true, |w| w.write_fmt(line));
    }

    /// Write a result to stdout, ending it with a newline if it has none.
    pub fn out(&self, text: &str) -> io::Result<()> {
        self.write_out(true, |w| {
            w.write_all(text.as_bytes())?;
            if !text.ends_with('\n') {
                w.write_all(b"\n")?;
            }
            w.flush()
        })
    }

    /// Print a value as pretty JSON on stdout. JSON never carries colour, so it bypasses the
    /// escape-stripping stream.
    pub fn json<T: serde::Serialize>(&self, value: &T) -> io::Result<()> {
        let mut text = serde_json::to_vec_pretty(value).map_err(io::Error::other)?;
        text.push(b'\n');
        self.write_out(false, |w| {
            w.write_all(&text)?;
            w.flush()
        })
    }

    /// A status line on stderr ("created branch …"). Status, warnings, hints and errors are
    /// plain text that may quote data, so each is escaped here ([`escape_text`]).
    pub fn status(&self, text: &str) {
        if !self.quiet {
            self.err_line(format_args!("{}\n", escape_text(text)));
        }
    }

    pub fn success(&self, text: &str) {
        if !self.quiet {
            self.err_line(format_args!("{OK}{}{OK:#}\n", escape_text(text)));
        }
    }

    pub fn warn(&self, text: &str) {
        self.err_line(format_args!("{WARN}warning:{WARN:#} {}\n", escape_text(text)));
    }

    pub fn hint(&self, text: &str) {
        if !self.quiet {
            self.err_line(format_args!("{HINT}hint:{HINT:#} {}\n", escape_text(text)));
        }
    }

    /// An error, git-style: `error:`, then each `caused by:` and `hint:`.
    pub fn error(&self, err: &Error) {
        let _ = self.write(Stream::Err, true, |w| {
            writeln!(w, "{ERROR}error:{ERROR:#} {}", escape_text(&err.message))?;
            for cause in &err.causes {
                writeln!(w, "caused by: {}", escape_text(cause))?;
            }
            for hint in &err.hints {
                writeln!(w, "{HINT}hint:{HINT:#} {}", escape_text(hint))?;
            }
            Ok(())
        });
    }

    /// A command's outcome as the process's exit code, its error printed first. A closed stdout
    /// never turns a verdict into success: results were dropped, the command ran on, and its
    /// error (a failed gate) is its exit code. An error that is itself a broken pipe (a reader
    /// gone elsewhere) ends quietly with 0.
    pub fn exit_code(&self, result: crate::error::Result<()>) -> u8 {
        match result {
            Ok(()) => 0,
            Err(err) if err.kind == crate::error::Kind::BrokenPipe => 0,
            Err(err) => {
                self.error(&err);
                err.exit_code()
            }
        }
    }

    /// A progress line on stderr for long work (see [`Progress`]).
    pub fn progress(&self) -> Progress<'_> {
        let tty = !self.quiet && matches!(self.sink, Sink::Terminal) && io::stderr().is_terminal();
        Progress { ui: self, start: std::time::Instant::now(), shown: false, tty }
    }

    /// Whether results go to a terminal (tables for people) or elsewhere (plain lines for logs
    /// and tools). In a git hook, stdout is git's stderr.
    pub fn stdout_is_terminal(&self) -> bool {
        matches!(self.sink, Sink::Terminal) && io::stdout().is_terminal()
    }

    /// Whether we may ask the user a question: stdin is a terminal, or answers were given.
    pub fn interactive(&self) -> bool {
        match &*self.input.borrow() {
            Input::Stdin => io::stdin().is_terminal(),
            Input::Answers(answers) => !answers.is_empty(),
        }
    }

    /// Ask a yes/no question on stderr and read the answer from stdin (or take the next given
    /// one). Anything but y/yes is no.
    pub fn confirm(&self, question: &str) -> io::Result<bool> {
        let given = match &mut *self.input.borrow_mut() {
            Input::Stdin => None,
            Input::Answers(answers) => Some(answers.pop_front().unwrap_or(false)),
        };
        self.write(Stream::Err, true, |w| {
            write!(w, "{question} [y/N] ")?;
            if let Some(yes) = given {
                writeln!(w, "{}", if yes { "y" } else { "n" })?;
            }
            w.flush()
        })?;
        if let Some(yes) = given {
            return Ok(yes);
        }
        let mut answer = String::new();
        io::stdin().read_line(&mut answer)?;
        Ok(matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
    }
}

/// A progress line on stderr for long work: shown only on a terminal, only after 250 ms, and
/// rewritten in place.
pub struct Progress<'ui> {
    ui: &'ui Ui,
    start: std::time::Instant,
    shown: bool,
    tty: bool,
}

impl<'ui> Progress<'ui> {
    /// The Ui it draws on, for what is said beside it.
    pub fn ui(&self) -> &'ui Ui {
        self.ui
    }

    pub fn show(&mut self, text: &str) {
        if self.tty && self.start.elapsed() >= std::time::Duration::from_millis(250) {
            let _ = self.ui.write(Stream::Err, true, |w| write!(w, "\r{}\x1b[K", escape(text)));
            self.shown = true;
        }
    }

    pub fn clear(&mut self) {
        if self.shown {
            let _ = self.ui.write(Stream::Err, true, |w| write!(w, "\r\x1b[K"));
            self.shown = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{escape, escape_text, paint, Paint, Ui};
    use crate::error::Error;

    #[test]
    fn a_captured_ui_keeps_what_it_was_told_and_asks_nobody() {
        let ui = Ui::capture();
        ui.out(&format!("{} done", paint(Paint::Ok, "all"))).unwrap();
        ui.json(&serde_json::json!({ "ok": true })).unwrap();
        ui.status("created \u{1b}[31m");
        ui.warn("careful");
        ui.hint("try this");
        assert_eq!(ui.stdout(), "all done\n{\n  \"ok\": true\n}\n", "colour stripped, JSON as it is");
        assert_eq!(ui.stderr(), "created \\u{1b}[31m\nwarning: careful\nhint: try this\n");
        assert!(!ui.interactive() && !ui.stdout_is_terminal());
        assert!(!ui.confirm("approve?").unwrap(), "nobody to ask: no");
        assert!(ui.stderr().ends_with("approve? [y/N] n\n"));

        let err = Error::blocked("gate tests did not pass").cause("exit 3").hint("fix it");
        assert_eq!(ui.exit_code(Err(err)), 1);
        assert!(ui.stderr().ends_with("error: gate tests did not pass\ncaused by: exit 3\nhint: fix it\n"));
        assert_eq!(ui.exit_code(Ok(())), 0);
    }

    #[test]
    fn a_captured_ui_takes_given_answers_colour_quiet_and_one_stream_as_asked() {
        let ui = Ui::capture().with_answers([true, false]).with_color().quiet();
        assert!(ui.interactive());
        assert!(ui.confirm("one?").unwrap());
        assert!(!ui.confirm("two?").unwrap());
        assert!(!ui.confirm("three?").unwrap(), "answers ran out: no");
        ui.status("left out");
        ui.success("left out too");
        ui.warn("kept");
        ui.out(&paint(Paint::Bad, "red")).unwrap();
        assert_eq!(ui.stdout(), format!("{}\n", paint(Paint::Bad, "red")), "colour kept");
        assert!(ui.stderr().ends_with("[y/N] n\n\u{1b}[1m\u{1b}[33mwarning:\u{1b}[0m kept\n"), "{:?}", ui.stderr());

        let ui = Ui::capture();
        ui.merge_stderr_into_stdout();
        ui.out("result").unwrap();
        ui.status("said");
        assert_eq!((ui.stdout().as_str(), ui.stderr().as_str()), ("result\nsaid\n", ""));
    }

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

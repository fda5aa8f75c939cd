//! `git orchestrate completions <shell>` and `git orchestrate man`: generated from the clap
//! definitions, so they never drift from the real command line.

use std::fmt::Write as _;

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::Result;
use crate::output::Ui;

/// Print a shell completion script.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  git orchestrate completions bash > ~/.local/share/bash-completion/completions/git-orchestrate\n  git orchestrate completions zsh > ~/.zfunc/_git-orchestrate"
)]
pub struct Args {
    /// The shell to complete for.
    pub shell: clap_complete::Shell,
}

/// Print the man page (roff) on stdout; `install.sh` installs it so `git orchestrate --help` works.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  git orchestrate man | man -l -")]
pub struct ManArgs {}

pub fn run(ui: &Ui, args: &Args) -> Result<()> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "git-orchestrate", &mut out);
    let mut text = String::from_utf8_lossy(&out).into_owned();
    if args.shell == clap_complete::Shell::Bash {
        // clap_complete names the subcommands' cases after `git-orchestrate` differently from
        // the state it tracks (`git__subcmd__orchestrate…` against `git__orchestrate…`), so no
        // subcommand's options completed: one name for both.
        text = text.replace("git__subcmd__orchestrate", "git__orchestrate");
        text.push_str(BASH_GIT);
    }
    if args.shell == clap_complete::Shell::Fish {
        text.push_str(FISH_GIT);
    }
    Ok(ui.out(&text)?)
}

/// git's bash completion completes `git orchestrate <TAB>` by calling `_git_orchestrate`: hand
/// it to the generated function as if `git-orchestrate` had been typed.
const BASH_GIT: &str = r#"
# `git orchestrate <TAB>`: git's completion calls _git_orchestrate.
_git_orchestrate() {
    local words=(git-orchestrate "${COMP_WORDS[@]:2}")
    local COMP_WORDS=("${words[@]}")
    local COMP_CWORD=$((COMP_CWORD - 1))
    _git__orchestrate git-orchestrate "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
}
"#;

/// fish completes `git <custom command>` through its own git completion only where it finds the
/// command on PATH (and fish 3.6.0 never does): complete `git orchestrate …` as
/// `git-orchestrate …`. install.sh puts this script where fish sources it at start-up.
const FISH_GIT: &str = r#"
# `git orchestrate <TAB>`: completed as `git-orchestrate`.
function __git_orchestrate_complete
    set -l words (commandline -opc)
    set -e words[1..(contains -i -- orchestrate $words)]
    complete -C "git-orchestrate $words "(commandline -ct)
end
complete -c git -f -n '__fish_seen_subcommand_from orchestrate' -a '(__git_orchestrate_complete)'
"#;

pub fn man(ui: &Ui, _: &ManArgs) -> Result<()> {
    let cmd = Cli::command().name("git-orchestrate");
    let man = clap_mangen::Man::new(cmd.clone());
    let mut out = Vec::new();
    // Every section but clap's list of subcommands, which names a page per subcommand
    // (`git-orchestrate-init(1)`) that does not exist: they are listed here, with their help.
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    let mut text = String::from_utf8_lossy(&out).into_owned();
    text.push_str(".SH SUBCOMMANDS\n");
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let about = sub.get_about().map(ToString::to_string).unwrap_or_default();
        let _ = write!(text, ".TP\n\\fBgit orchestrate {}\\fR\n{}\n", roff(sub.get_name()), roff(&about));
    }
    text.push_str(".PP\nEach subcommand has its own help: \\fBgit orchestrate <subcommand> \\-\\-help\\fR.\n");
    let mut rest = Vec::new();
    man.render_version_section(&mut rest)?;
    text.push_str(&String::from_utf8_lossy(&rest));
    Ok(ui.out(&text)?)
}

/// Text as roff: backslashes and hyphens escaped, no line starting with a control character.
fn roff(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    escaped
        .lines()
        .map(|l| if l.starts_with(['.', '\'']) { format!("\\&{l}") } else { l.to_string() })
        .collect::<Vec<_>>()
        .join("\n")
}

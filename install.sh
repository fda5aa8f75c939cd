#!/bin/sh
# Build git-orchestrate from this checkout and install it on PATH with its man page, so that
# `git orchestrate …` works (and `git orchestrate --help`, which git turns into `man`).
# Idempotent: running it again reinstalls the current checkout.
set -eu

say() { printf '%s\n' "$*"; }
fail() { printf 'error: %s\n' "$1" >&2; [ $# -gt 1 ] && printf 'hint: %s\n' "$2" >&2; exit 1; }

command -v git >/dev/null 2>&1 || fail "git is not installed" "install git 2.40 or newer (e.g. apt-get install git)"
command -v cargo >/dev/null 2>&1 || fail "cargo is not installed" "install Rust with rustup (https://rustup.rs), then open a new shell"

# merge-tree --write-tree --merge-base (used to squash a phase) needs git 2.40.
major=$(git --version | sed -n 's/^git version \([0-9][0-9]*\)\..*/\1/p')
minor=$(git --version | sed -n 's/^git version [0-9][0-9]*\.\([0-9][0-9]*\).*/\1/p')
if [ "${major:-0}" -lt 2 ] || { [ "${major:-0}" -eq 2 ] && [ "${minor:-0}" -lt 40 ]; }; then
    fail "git ${major:-?}.${minor:-?} is too old" "git-orchestrate needs git 2.40 or newer"
fi

here=$(cd "$(dirname "$0")" && pwd)
root=${CARGO_INSTALL_ROOT:-${CARGO_HOME:-$HOME/.cargo}}
say "building git-orchestrate (release) from $here; the first build takes a few minutes …"
# cargo's own progress shows while it builds.
cargo install --path "$here" --locked --force --root "$root"
bin="$root/bin/git-orchestrate"
[ -x "$bin" ] || fail "cargo did not install $bin"

# The man page: `git orchestrate --help` is `man git-orchestrate`. man finds pages under
# <prefix>/share/man for every <prefix>/bin on PATH.
mandir="$root/share/man/man1"
mkdir -p "$mandir"
"$bin" man > "$mandir/git-orchestrate.1"

# Completions where each shell looks under the prefix (bash-completion and fish read
# <prefix>/share/…; zsh needs the directory in $fpath).
bashdir="$root/share/bash-completion/completions"
zshdir="$root/share/zsh/site-functions"
fishdir="$root/share/fish/vendor_completions.d"
# fish sources vendor_conf.d at start-up: there the script also completes `git orchestrate`.
fishconf="$root/share/fish/vendor_conf.d"
mkdir -p "$bashdir" "$zshdir" "$fishdir" "$fishconf"
"$bin" completions bash > "$bashdir/git-orchestrate"
"$bin" completions zsh > "$zshdir/_git-orchestrate"
"$bin" completions fish > "$fishdir/git-orchestrate.fish"
"$bin" completions fish > "$fishconf/git-orchestrate.fish"

say "installed $bin ($("$bin" --version))"
say "installed $mandir/git-orchestrate.1"
say "installed completions: $bashdir/git-orchestrate, $zshdir/_git-orchestrate, $fishdir/git-orchestrate.fish"
say "  bash: \`git orchestrate <TAB>\` needs git's completion loaded and, unless bash-completion"
say "        reads $bashdir, this line in ~/.bashrc: . \"$bashdir/git-orchestrate\""
say "  zsh:  add to ~/.zshrc, before compinit: fpath=(\"$zshdir\" \$fpath)"
case ":$PATH:" in
    *":$root/bin:"*)
        say "try it: git orchestrate tour"
        ;;
    *)
        # shellcheck disable=SC2016 # $PATH is printed for the user's profile, not expanded
        printf '\nwarning: %s is not on PATH, so git will not find `git orchestrate` yet.\n' "$root/bin" >&2
        printf 'add this line to your shell profile (~/.profile, ~/.bashrc or ~/.zshrc), then open a new shell:\n' >&2
        # shellcheck disable=SC2016
        printf '    export PATH="%s:$PATH"\n' "$root/bin" >&2
        printf 'then try it: git orchestrate tour\n' >&2
        ;;
esac

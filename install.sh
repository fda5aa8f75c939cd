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
say "building git-orchestrate (release) from $here …"
cargo install --path "$here" --locked --force --quiet --root "$root"
bin="$root/bin/git-orchestrate"
[ -x "$bin" ] || fail "cargo did not install $bin"

mandir="$root/share/man/man1"
mkdir -p "$mandir"
"$bin" man > "$mandir/git-orchestrate.1"

say "installed $bin ($("$bin" --version))"
say "installed $mandir/git-orchestrate.1"
case ":$PATH:" in
    *":$root/bin:"*) ;;
    *) say "note: $root/bin is not on PATH; add it: export PATH=\"$root/bin:\$PATH\"" ;;
esac
say "try it: git orchestrate tour"

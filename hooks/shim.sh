#!/bin/sh
# git-orchestrate-hook v4 — installed by `git orchestrate hooks install`.
# `git orchestrate hooks uninstall` removes it and restores the hook that was here before
# (kept beside it as __HOOK__.orchestrate-chained, and run first).
bin='__BIN__'
fast=__FAST__
hook=__HOOK__
chained="$0.orchestrate-chained"
# The message hooks that only feature branches need (`<hook>.orchestrate-shim` beside this file).
# pre-commit puts them in place on a feature branch, before git looks for them, and takes them
# away on other branches, where a commit then runs this one hook alone.
armed='__ARMED__'

# $1 = yes: link each message hook in (if the place is free); no: unlink each that is ours (the
# same file as the one kept aside, still carrying the marker: never a hook someone edited).
# (`-ef`, like `-nt` below, is not POSIX; dash, bash, busybox ash and macOS sh all have it.)
# shellcheck disable=SC3013
arm() {
    for h in $armed; do
        if [ "$1" = yes ]; then
            [ -e "${0%/*}/$h" ] || ln "${0%/*}/$h.orchestrate-shim" "${0%/*}/$h" 2>/dev/null ||
                cp -p "${0%/*}/$h.orchestrate-shim" "${0%/*}/$h"
        elif [ "${0%/*}/$h" -ef "${0%/*}/$h.orchestrate-shim" ]; then
            { read -r _ && read -r mark; } < "${0%/*}/$h"
            case "$mark" in "# git-orchestrate-hook v"*) rm -f "${0%/*}/$h" ;; esac
        fi
    done
}

# The hook that was here before install runs first; its failure stops the commit.
run_chained() {
    [ -x "$chained" ] || return 0
    "$chained" "$@" && return 0
    code=$?
    echo "error: your own $hook hook ($chained) failed with exit $code" >&2
    exit "$code"
}

# Fast path, in sh alone: a commit on a branch outside the feature prefixes has nothing to do.
# Anything unusual (detached HEAD during a rebase, a configuration newer than this file, a
# push) goes to the binary, which decides for itself. `seen` tells the binary what this shim
# already established, so it does not do it again.
seen=none
# (`-nt` is not POSIX, but dash, bash, busybox ash and macOS sh all have it; `find -newer`
# would cost a process on every commit.)
# shellcheck disable=SC3013
if [ "$fast" = yes ] && [ ! .orchestrate.toml -nt "$0" ]; then
    gd=${GIT_DIR:-.git}
    if [ -f "$gd" ]; then
        read -r gd < "$gd" && gd=${gd#gitdir: }
    fi
    head=
    [ -r "$gd/HEAD" ] && read -r head < "$gd/HEAD"
    case "$head" in
        ref:\ refs/heads/__PREFIXES__) seen=feature-prefix ;;
        ref:\ refs/heads/*)
            arm no
            run_chained "$@"
            exit 0 ;;
    esac
fi
# A feature branch, or something to look at closer: the message hooks must be there.
arm yes

# prepare-commit-msg with a message already given (-m, -F, a merge, an amend): nothing to do.
if [ "$hook" = prepare-commit-msg ] && [ -n "${2:-}" ]; then
    run_chained "$@"
    exit 0
fi

# The user's own hook runs first (pre-push: the binary runs it, as both read the same stdin).
if [ "$hook" != pre-push ]; then
    run_chained "$@"
    if [ "$seen" = none ]; then seen=chained; fi
fi

# commit-msg on a feature branch: a message that is plainly fine ends here too, without
# starting the binary. Plainly fine: a first line `type: subject` or `type(scope): subject`
# with a known type, a blank second line, no line over 100 bytes, and none of the words the
# blocking secret rules look for. Anything else goes to the binary, which gives the verdict;
# this check only ever lets through what the binary would.
if [ "$hook" = commit-msg ] && [ "$seen" = feature-prefix ] && [ -r "${1:-}" ]; then
    plain=yes n=0
    while IFS= read -r line || [ -n "$line" ]; do
        case "$line" in \#*) continue ;; esac
        n=$((n + 1))
        if [ ${#line} -gt 100 ]; then plain=no; break; fi
        case "$line" in __SECRET_WORDS__) plain=no; break ;; esac
        if [ "$n" = 1 ]; then
            case "$line" in
                __TYPES_COLON__) ;;
                __TYPES_PAREN__)
                    scope=${line#*\(} after=${line#*\)}
                    scope=${scope%%\)*}
                    case "$scope" in '' | *[!A-Za-z0-9._/-]*) plain=no; break ;; esac
                    case "$after" in ': '[![:space:]]* | '!: '[![:space:]]*) ;; *) plain=no; break ;; esac ;;
                *) plain=no; break ;;
            esac
        elif [ "$n" = 2 ] && [ -n "$line" ]; then
            plain=no; break
        fi
    done < "$1"
    if [ "$plain" = yes ] && [ "$n" -gt 0 ]; then exit 0; fi
fi

if [ ! -x "$bin" ]; then
    bin=$(command -v git-orchestrate 2>/dev/null) || {
        echo "error: git-orchestrate is not installed any more (was: __BIN__)" >&2
        echo "hint: reinstall it, or remove this hook: git orchestrate hooks uninstall" >&2
        exit 1
    }
fi
exec "$bin" hook --seen "$seen" "$hook" "$@"

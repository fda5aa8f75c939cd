#!/bin/sh
# git-orchestrate-hook v1 — installed by `git orchestrate hooks install`.
# `git orchestrate hooks uninstall` removes it and restores the hook that was here before
# (kept beside it as __HOOK__.orchestrate-chained, and run first by git-orchestrate).
bin='__BIN__'
if [ ! -x "$bin" ]; then
    bin=$(command -v git-orchestrate 2>/dev/null) || {
        echo "error: git-orchestrate is not installed any more (was: __BIN__)" >&2
        echo "hint: reinstall it, or remove this hook: git orchestrate hooks uninstall" >&2
        exit 1
    }
fi
exec "$bin" hook __HOOK__ "$@"

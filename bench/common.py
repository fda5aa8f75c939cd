"""Shared by the benchmark scripts: the command line, an environment isolated from the user's
git configuration, and a timer."""
import argparse
import os
import statistics
import subprocess
import time


def git_env(**extra):
    """The environment for git and git-orchestrate in a benchmark: no system or global git
    configuration, a fixed identity, the C locale. `extra` adds or overrides variables."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.com",
        "LC_ALL": "C",
    }
    env.update(extra)
    return env


def timed(cmd, runs, check=True, **kw):
    """Run `cmd` `runs` times (output captured); return (median, min) in seconds and the last
    run's CompletedProcess."""
    samples, out = [], None
    for _ in range(runs):
        start = time.perf_counter()
        out = subprocess.run(cmd, check=check, capture_output=True, **kw)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), min(samples), out


def arguments(doc, **numbers):
    """The benchmark's command line: `--bin` (the binary to measure) and an integer option per
    keyword, with its default (`runs=30` gives `--runs`). Returns (args, absolute binary path)."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--bin", default="target/release/git-orchestrate")
    for name, default in numbers.items():
        ap.add_argument(f"--{name}", type=int, default=default)
    args = ap.parse_args()
    return args, os.path.abspath(args.bin)

#!/usr/bin/env python3
"""Benchmark: coverage report parsing (100 MB lcov and Cobertura) and a gate cache hit.

    python3 bench/gates.py [--bin target/release/git-orchestrate] [--mb 100]
"""
import os
import random
import shutil
import subprocess
import tempfile

from common import arguments, git_env, timed as run_timed


def lcov(path, megabytes):
    rng = random.Random(1)
    with open(path, "w") as f:
        written, n = 0, 0
        while written < megabytes * 1_000_000:
            # lcov 2.x quirks: VER and FNL records, checksums after the hits.
            chunk = [f"VER:2.0\nTN:\nSF:src/module_{n}.py\nFNL:0,1,40\n"]
            for line in range(1, 2001):
                chunk.append(f"DA:{line},{rng.randrange(3)},ab12\n")
            chunk.append("LF:2000\nLH:1333\nend_of_record\n")
            text = "".join(chunk)
            f.write(text)
            written += len(text)
            n += 1
    return os.path.getsize(path)


def cobertura(path, megabytes):
    rng = random.Random(2)
    with open(path, "w") as f:
        f.write('<?xml version="1.0" ?>\n<coverage line-rate="0.5"><sources><source>/ci/src</source></sources><packages><package name="p"><classes>\n')
        written, n = 0, 0
        while written < megabytes * 1_000_000:
            chunk = [f'<class name="m{n}" filename="pkg/m{n}.py" line-rate="0.5"><methods/><lines>\n']
            for line in range(1, 2001):
                chunk.append(f'<line number="{line}" hits="{rng.randrange(3)}"/>\n')
            chunk.append("</lines></class>\n")
            text = "".join(chunk)
            f.write(text)
            written += len(text)
            n += 1
        f.write("</classes></package></packages></coverage>\n")
    return os.path.getsize(path)


def timed(cmd, runs, **kw):
    """(median, min) in seconds."""
    med, best, _ = run_timed(cmd, runs, **kw)
    return med, best


def main():
    args, binary = arguments(__doc__, mb=100)
    root = tempfile.mkdtemp(prefix="orchestrate-gates-bench")
    try:
        for name, make in [("lcov", lcov), ("cobertura", cobertura)]:
            path = os.path.join(root, f"report.{name}")
            size = make(path, args.mb)
            med, best = timed([binary, "coverage", "show", path, "--format", name, "--json"], 3)
            print(f"coverage parse, {name} {size / 1e6:.0f} MB: median {med:.2f} s (min {best:.2f} s) = {size / 1e6 / med:.0f} MB/s, whole process")

        # A cache hit: the tree was gated with this configuration already.
        repo = os.path.join(root, "repo")
        env = git_env()
        subprocess.run(["git", "init", "-q", "-b", "main", repo], check=True, env=env)
        with open(os.path.join(repo, ".orchestrate.toml"), "w") as f:
            f.write('[gates.tests]\nkind = "command"\nrun = "sleep 0.2"\n')
        subprocess.run(["git", "-C", repo, "add", "-A"], check=True, env=env)
        subprocess.run(["git", "-C", repo, "commit", "-qm", "init"], check=True, env=env)
        subprocess.run([binary, "gate"], cwd=repo, env=env, check=True, capture_output=True)
        med, best = timed([binary, "gate", "--json"], 30, cwd=repo, env=env)
        bare, _ = timed(["git", "rev-parse", "HEAD"], 30, cwd=repo, env=env)
        print(f"gate cache hit (the whole `gate` process): median {med * 1000:.1f} ms (min {best * 1000:.1f} ms); `git rev-parse HEAD` {bare * 1000:.1f} ms")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

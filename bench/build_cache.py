#!/usr/bin/env python3
"""Benchmark: the first gate of a Rust project against an incremental build by hand, without and
with `seed = ["target"]`.

The project is this repository (a clone of its HEAD in a temporary directory), built offline
from the registry cache cargo already has. By hand: a cold `cargo build`, then `cargo build`
after touching one file (`src/lib.rs`), `--runs` times. Then a command gate running
`cargo build --offline`, on a fresh gate cache each time:

- without seed (the gate's cargo starts from an empty target directory, as every first gate
  did before), then after a one-file change (the gate's own target directory, kept);
- with `seed = ["target"]` (the dependencies' build units copied from the work tree's
  target/, the repository's own crate built from the snapshot), then after a one-file change.

Each gate line says how many crates cargo compiled (its `Compiling` lines) and how much its
target directory holds; the seeded one, what the seed copied. `CARGO_BUILD_JOBS` is passed
through when set.

    python3 bench/build_cache.py [--bin target/release/git-orchestrate] [--runs 3]
"""
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time

from common import arguments, git_env

HERE = os.path.dirname(os.path.abspath(__file__))


def sh(cmd, cwd, env):
    return subprocess.run(cmd, cwd=cwd, env=env, check=True, capture_output=True, text=True)


def timed_once(cmd, cwd, env):
    start = time.perf_counter()
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if out.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} exited {out.returncode}:\n{out.stdout}\n{out.stderr}")
    return elapsed, out


def du(path):
    total = 0
    for dirpath, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
    return total


def compiled(tail):
    return sum(1 for line in tail.splitlines() if line.strip().startswith("Compiling "))


def change(repo, env, i):
    """A one-line change of src/lib.rs, committed (a new tree for the gate)."""
    with open(os.path.join(repo, "src", "lib.rs"), "a") as f:
        f.write(f"// bench change {i}\n")
    sh(["git", "commit", "-q", "--no-verify", "-am", f"chore: bench change {i}"], repo, env)


def gate(binary, repo, env, label):
    elapsed, out = timed_once([binary, "gate", "--only", "build", "--json"], repo, env)
    report = json.loads(out.stdout)
    g = report["gates"][0]
    if g["verdict"] != "pass":
        raise SystemExit(f"{label}: the gate did not pass: {g['summary']}\n{g['output_tail'][-3000:]}")
    seeds = report.get("seeds", [])
    return elapsed, compiled(g["output_tail"]), seeds


def main():
    args, binary = arguments(__doc__, runs=3)
    source = os.path.abspath(os.path.join(HERE, ".."))
    root = tempfile.mkdtemp(prefix="orchestrate-build-bench")
    try:
        real_home = os.path.expanduser("~")
        cargo = {
            "CARGO_HOME": os.environ.get("CARGO_HOME", os.path.join(real_home, ".cargo")),
            "RUSTUP_HOME": os.environ.get("RUSTUP_HOME", os.path.join(real_home, ".rustup")),
            "CARGO_NET_OFFLINE": "true",
        }
        if "CARGO_BUILD_JOBS" in os.environ:
            cargo["CARGO_BUILD_JOBS"] = os.environ["CARGO_BUILD_JOBS"]
        env = git_env(HOME=os.path.join(root, "home"), ORCHESTRATE_TRUST_CONFIG="1", **cargo)
        repo = os.path.join(root, "project")
        sh(["git", "clone", "-q", source, repo], root, env)
        print(f"project: this repository at {sh(['git', 'rev-parse', '--short', 'HEAD'], repo, env).stdout.strip()}, "
              f"CARGO_BUILD_JOBS={cargo.get('CARGO_BUILD_JOBS', 'unset')}")

        # By hand, in the work tree's target/.
        cold, _ = timed_once(["cargo", "build", "--offline"], repo, env)
        lib = os.path.join(repo, "src", "lib.rs")
        samples = []
        for _ in range(args.runs):
            os.utime(lib)
            elapsed, _ = timed_once(["cargo", "build", "--offline"], repo, env)
            samples.append(elapsed)
        target = os.path.join(repo, "target")
        print(f"by hand: cold cargo build {cold:.1f} s; after touching src/lib.rs {statistics.median(samples):.2f} s median "
              f"(min {min(samples):.2f} s) of {args.runs}; target/ {du(target) / 1e9:.2f} GB")

        runs = 0
        for seeded in (False, True):
            label = "with seed" if seeded else "without seed"
            # A fresh gate cache: this run's first gate is the repository's first.
            cache = os.path.join(root, f"cache-{'seeded' if seeded else 'plain'}")
            run_env = dict(env, XDG_CACHE_HOME=cache)
            with open(os.path.join(repo, ".orchestrate.toml"), "w") as f:
                f.write('[gates.build]\nrun = "cargo build --offline"\ntimeout = 3600\n' + ('seed = ["target"]\n' if seeded else ""))
            sh(["git", "add", ".orchestrate.toml"], repo, run_env)
            sh(["git", "commit", "-q", "--no-verify", "-m", f"chore: gate the build, {label}"], repo, run_env)
            first, crates, seeds = gate(binary, repo, run_env, f"first gate, {label}")
            gate_target = os.path.join(cache, "git-orchestrate", "targets")
            line = f"first gate, {label}: {first:.1f} s, {crates} crates compiled; gate target {du(gate_target) / 1e9:.2f} GB"
            for s in seeds:
                line += (f"; seed {s['path']}: {s['status']}, {s['files']} files, {s['bytes'] / 1e9:.2f} GB in "
                         f"{s['duration_ms'] / 1000:.1f} s, {s['left_out']} own units left out")
            print(line)
            samples, counts = [], []
            for _ in range(args.runs):
                runs += 1
                change(repo, run_env, runs)
                elapsed, crates, _ = gate(binary, repo, run_env, f"gate after a change, {label}")
                samples.append(elapsed)
                counts.append(crates)
            print(f"gate after a one-line change, {label}: {statistics.median(samples):.2f} s median (min {min(samples):.2f} s) "
                  f"of {args.runs}, {max(counts)} crate(s) compiled")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Benchmark: `plan lint` on large plans, each phase depending on the one before (a chain).

Writes plans of N phases (title, owner, tasks, tests, one path each, disjoint) into a fresh
repository and times `git orchestrate plan lint --file` on each, the whole process.

    python3 bench/plan.py [--bin target/release/git-orchestrate] [--runs 5] [--phases 1000]
"""
import os
import subprocess
import tempfile

from common import arguments, git_env, timed


def plan_text(n):
    out = ['+++\nfeature = "big"\ntitle = "A large plan"\n']
    for i in range(1, n + 1):
        out.append(
            f'\n[[phase]]\nid = {i}\ntitle = "Phase {i}"\nowner = "maat"\n'
            f'tasks = ["task {i}a", "task {i}b"]\ntests = ["test {i}"]\npaths = ["area{i}/**"]\n'
        )
    out.append("+++\n\n# A large plan\n")
    return "".join(out)


def main():
    args, binary = arguments(__doc__, runs=5, phases=1000)
    env = git_env()
    with tempfile.TemporaryDirectory() as root:
        repo = os.path.join(root, "repo")
        subprocess.run(["git", "init", "-q", "-b", "main", repo], check=True, env=env)
        sizes = sorted({args.phases // 10, args.phases // 2, args.phases, args.phases * 2, args.phases * 10})
        for n in sizes:
            path = os.path.join(root, f"plan-{n}.md")
            with open(path, "w") as f:
                f.write(plan_text(n))
            median, best, out = timed(
                [binary, "plan", "lint", "--file", path], args.runs, check=False, cwd=repo, env=env
            )
            verdict = "ok" if out.returncode == 0 else f"exit {out.returncode}: " + (
                out.stdout.decode().splitlines() or out.stderr.decode().splitlines() or [""])[0][:90]
            print(f"{n:>7} phases  {os.path.getsize(path):>9} bytes  {median * 1000:9.1f} ms (min {best * 1000:.1f})  {verdict}")


if __name__ == "__main__":
    main()

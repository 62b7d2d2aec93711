#!/usr/bin/env python3
"""Runs the steps of a composite GitHub Action (action.yml) the way a runner does, locally.

There is no GitHub runner on the machines wasipack is developed on, so tests/action.rs runs the
action's `run:` steps with this script instead:

    python3 tests/tools/run_action.py action.yml \\
        --workspace DIR [--runner-temp DIR] [--input NAME=VALUE ...] [--env NAME=VALUE ...]
    python3 tests/tools/run_action.py action.yml --check-only

It prints one JSON object on stdout:

    {"exit_code": N, "outputs": {...}, "summary": "...", "stdout": "...", "stderr": "...",
     "annotations": [{"command", "properties", "message"}], "skipped_uses": [{"id", "uses",
     "with", "if"}], "steps": [{"id", "name", "kind", "outcome", "exit_code", "outputs"}],
     "static_check": {"errors": [...], "warnings": [...]}, "runner_temp": "..."}

and exits with the action's exit code (0 when every step passed), 3 when the static checks fail
(nothing is run then), 2 on a usage error.

What it does, as GitHub's runner does:
- `${{ ... }}` expressions in input defaults, `if:`, `env:`, `with:`, `working-directory:` and
  the action's `outputs:` values: the `inputs`, `github`, `env`, `steps`, `runner` contexts,
  literals, `== != < <= > >= && || !`, and the functions `always() success() failure()
  cancelled() contains() startsWith() endsWith() format() join() toJSON() fromJSON()`. An
  `if:` without a status function means `success() && (...)`. Strings compare ignoring case.
- Composite actions get their inputs only through `${{ inputs.x }}`: GitHub does not set
  `INPUT_*` variables for composite `run:` steps, so neither does this script (an action that
  read them would pass here and fail on GitHub).
- Each `run:` step runs with its `shell` (`bash` is `bash --noprofile --norc -eo pipefail {0}`,
  `sh` is `sh -e {0}`, `python` is `python3 {0}`, or a template with `{0}`), in
  `working-directory` (relative to the workspace) or the workspace, with GITHUB_ACTIONS=true,
  CI=true, GITHUB_WORKSPACE, RUNNER_TEMP, GITHUB_ACTION_PATH, GITHUB_ACTION, RUNNER_OS,
  RUNNER_ARCH and fresh GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, GITHUB_ENV and GITHUB_PATH files.
  Outputs (`name=value` and `name<<DELIM` blocks), GITHUB_ENV and GITHUB_PATH are read after
  the step; the step summaries are concatenated. `continue-on-error` is honoured.
- `uses:` steps are not run (there is no marketplace here): they are listed in `skipped_uses`
  with their expanded `with:`, and their outputs are empty.

Static checks, made before anything runs (and alone with --check-only):
- `runs.using` is `composite` and every `run:` step has a `shell`; step ids are unique;
- every `inputs.X` used in any expression is declared under `inputs:`;
- every `steps.ID...` reference names a step defined before the one using it;
- every declared output has a `value` that refers to `steps.ID.outputs.NAME` of a step whose
  script writes NAME to $GITHUB_OUTPUT (`NAME<<DELIM`, or `echo "NAME=...` / `printf 'NAME=...`);
- no `${{ ... }}` appears in a `run:` script body: inputs and everything else must reach the
  shell through `env:` (an expression there is pasted into the script text unquoted);
- an input that no expression uses is a warning.
"""

import argparse
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import tempfile

try:
    import yaml
except ImportError:  # pragma: no cover - the venv has PyYAML
    sys.stderr.write(
        "run_action.py needs PyYAML: run `bash scripts/install-tools.sh` and use .tools/venv/bin/python\n"
    )
    sys.exit(2)


# --- expressions --------------------------------------------------------------------------


class ExprError(Exception):
    pass


TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>'(?:[^']|'')*')
      | (?P<num>-?(?:0x[0-9a-fA-F]+|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?))
      | (?P<op>==|!=|<=|>=|&&|\|\||[!<>()\[\].,*])
      | (?P<ident>[A-Za-z_][A-Za-z0-9_-]*)
    )""",
    re.VERBOSE,
)

STATUS_FUNCTIONS = {"always", "success", "failure", "cancelled"}


def tokenize(text):
    tokens, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ExprError(f"cannot parse expression at {text[pos:]!r}")
        pos = m.end()
        kind = m.lastgroup
        tokens.append((kind, m.group(kind)))
    return tokens


class Parser:
    """Expressions to a small AST: ('lit', v), ('ctx', name), ('prop', node, name),
    ('index', node, node), ('not', node), ('bin', op, a, b), ('call', name, [args])."""

    def __init__(self, text):
        self.tokens = tokenize(text)
        self.i = 0
        self.text = text

    def peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else (None, None)

    def take(self, value=None):
        tok = self.peek()
        if tok[0] is None or (value is not None and tok[1] != value):
            raise ExprError(f"expected {value or 'more'} in expression {self.text!r}")
        self.i += 1
        return tok

    def parse(self):
        node = self.or_()
        if self.i != len(self.tokens):
            raise ExprError(f"unexpected {self.peek()[1]!r} in expression {self.text!r}")
        return node

    def or_(self):
        node = self.and_()
        while self.peek() == ("op", "||"):
            self.take()
            node = ("bin", "||", node, self.and_())
        return node

    def and_(self):
        node = self.eq()
        while self.peek() == ("op", "&&"):
            self.take()
            node = ("bin", "&&", node, self.eq())
        return node

    def eq(self):
        node = self.cmp()
        while self.peek()[0] == "op" and self.peek()[1] in ("==", "!="):
            op = self.take()[1]
            node = ("bin", op, node, self.cmp())
        return node

    def cmp(self):
        node = self.unary()
        while self.peek()[0] == "op" and self.peek()[1] in ("<", "<=", ">", ">="):
            op = self.take()[1]
            node = ("bin", op, node, self.unary())
        return node

    def unary(self):
        if self.peek() == ("op", "!"):
            self.take()
            return ("not", self.unary())
        return self.postfix()

    def postfix(self):
        node = self.primary()
        while True:
            tok = self.peek()
            if tok == ("op", "."):
                self.take()
                kind, name = self.take()
                if kind != "ident":
                    raise ExprError(f"expected a property name in {self.text!r}")
                node = ("prop", node, name)
            elif tok == ("op", "["):
                self.take()
                index = self.or_()
                self.take("]")
                node = ("index", node, index)
            else:
                return node

    def primary(self):
        kind, value = self.take()
        if kind == "str":
            return ("lit", value[1:-1].replace("''", "'"))
        if kind == "num":
            return ("lit", float(int(value, 16)) if value.lower().startswith("0x") else float(value))
        if kind == "op" and value == "(":
            node = self.or_()
            self.take(")")
            return node
        if kind == "ident":
            if value in ("true", "false"):
                return ("lit", value == "true")
            if value == "null":
                return ("lit", None)
            if self.peek() == ("op", "("):
                self.take()
                args = []
                if self.peek() != ("op", ")"):
                    args.append(self.or_())
                    while self.peek() == ("op", ","):
                        self.take()
                        args.append(self.or_())
                self.take(")")
                return ("call", value.lower(), args)
            return ("ctx", value.lower())
        raise ExprError(f"unexpected {value!r} in expression {self.text!r}")


def to_str(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, (dict, list)):
        return json.dumps(v, indent=2)
    return str(v)


def truthy(v):
    if v is None or v is False:
        return False
    if isinstance(v, float):
        return v == v and v != 0
    if isinstance(v, str):
        return v != ""
    return True


def to_num(v):
    if v is None:
        return 0.0
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, float):
        return v
    if isinstance(v, str):
        s = v.strip()
        if s == "":
            return 0.0
        try:
            return float(int(s, 16)) if s.lower().startswith("0x") else float(s)
        except ValueError:
            return float("nan")
    return float("nan")


def loose_eq(a, b):
    if isinstance(a, str) and isinstance(b, str):
        return a.casefold() == b.casefold()
    if type(a) is type(b) and not isinstance(a, (str, float, bool)) and a is not None:
        return a is b
    return to_num(a) == to_num(b)


def lookup(obj, name):
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k.casefold() == str(name).casefold():
                return v
    return None


class Context:
    def __init__(self, contexts, status="success"):
        self.contexts = contexts  # name -> dict
        self.status = status  # success | failure

    def eval(self, node):
        kind = node[0]
        if kind == "lit":
            return node[1]
        if kind == "ctx":
            if node[1] not in self.contexts:
                raise ExprError(f"unknown context `{node[1]}`")
            return self.contexts[node[1]]
        if kind == "prop":
            return lookup(self.eval(node[1]), node[2])
        if kind == "index":
            base, key = self.eval(node[1]), self.eval(node[2])
            if isinstance(base, list):
                n = to_num(key)
                return base[int(n)] if n == n and 0 <= n < len(base) else None
            return lookup(base, to_str(key))
        if kind == "not":
            return not truthy(self.eval(node[1]))
        if kind == "bin":
            op = node[1]
            if op == "&&":
                a = self.eval(node[2])
                return self.eval(node[3]) if truthy(a) else a
            if op == "||":
                a = self.eval(node[2])
                return a if truthy(a) else self.eval(node[3])
            a, b = self.eval(node[2]), self.eval(node[3])
            if op == "==":
                return loose_eq(a, b)
            if op == "!=":
                return not loose_eq(a, b)
            if isinstance(a, str) and isinstance(b, str):
                a, b = a.casefold(), b.casefold()
            else:
                a, b = to_num(a), to_num(b)
            return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
        if kind == "call":
            return self.call(node[1], [self.eval(a) for a in node[2]])
        raise ExprError(f"bad node {node!r}")

    def call(self, name, args):
        if name == "always":
            return True
        if name == "success":
            return self.status == "success"
        if name == "failure":
            return self.status == "failure"
        if name == "cancelled":
            return False
        if name == "contains":
            hay, needle = args
            if isinstance(hay, list):
                return any(loose_eq(x, needle) for x in hay)
            return to_str(needle).casefold() in to_str(hay).casefold()
        if name == "startswith":
            return to_str(args[0]).casefold().startswith(to_str(args[1]).casefold())
        if name == "endswith":
            return to_str(args[0]).casefold().endswith(to_str(args[1]).casefold())
        if name == "format":
            out = to_str(args[0])
            for i, a in enumerate(args[1:]):
                out = out.replace("{" + str(i) + "}", to_str(a))
            return out.replace("{{", "{").replace("}}", "}")
        if name == "join":
            sep = to_str(args[1]) if len(args) > 1 else ","
            return sep.join(to_str(x) for x in args[0]) if isinstance(args[0], list) else to_str(args[0])
        if name == "tojson":
            return json.dumps(args[0], indent=2)
        if name == "fromjson":
            return json.loads(to_str(args[0]))
        raise ExprError(f"function `{name}()` is not supported by run_action.py")


EXPR = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)


def expand(text, ctx):
    """Replaces every ${{ expr }} in a string (GitHub's template semantics)."""
    if not isinstance(text, str):
        return to_str(text) if not isinstance(text, (dict, list)) else text
    return EXPR.sub(lambda m: to_str(ctx.eval(Parser(m.group(1)).parse())), text)


def condition(value):
    """The expression of an `if:` (with or without ${{ }}), status-checked as GitHub does."""
    if value is None:
        return "success()"
    text = to_str(value).strip()
    m = re.fullmatch(r"\$\{\{(.*)\}\}", text, re.DOTALL)
    if m:
        text = m.group(1).strip()
    uses_status = any(
        n[0] == "call" and n[1] in STATUS_FUNCTIONS for n in walk(Parser(text).parse())
    )
    return text if uses_status else f"success() && ({text})"


def walk(node):
    yield node
    for child in node[1:]:
        if isinstance(child, tuple):
            yield from walk(child)
        elif isinstance(child, list):
            for c in child:
                yield from walk(c)


def references(node):
    """Property chains rooted at a context: ('inputs', 'name'), ('steps', 'id', 'outputs', 'x')."""
    chains = []

    def chain(n):
        if n[0] == "ctx":
            return [n[1]]
        if n[0] == "prop":
            c = chain(n[1])
            return c + [n[2]] if c is not None else None
        if n[0] == "index" and n[2][0] == "lit" and isinstance(n[2][1], str):
            c = chain(n[1])
            return c + [n[2][1]] if c is not None else None
        return None

    def visit(n, parent_is_access):
        if n[0] in ("prop", "index", "ctx") and not parent_is_access:
            c = chain(n)
            if c is not None:
                chains.append(tuple(c))
        for i, child in enumerate(n[1:], start=1):
            if isinstance(child, tuple):
                access = n[0] in ("prop", "index") and i == 1
                visit(child, access)
            elif isinstance(child, list):
                for c in child:
                    visit(c, False)

    visit(node, False)
    return chains


# --- GitHub's file commands and workflow commands ------------------------------------------


def parse_file_command(text, what):
    """`name=value` lines and `name<<DELIM` ... `DELIM` blocks, as the runner reads them."""
    result, lines, i = {}, text.split("\n"), 0
    while i < len(lines):
        line = lines[i].rstrip("\r")
        i += 1
        if line == "":
            continue
        eq, heredoc = line.find("="), line.find("<<")
        if heredoc >= 0 and (eq < 0 or heredoc < eq):
            name, delim = line[:heredoc], line[heredoc + 2 :]
            if not name or not delim:
                raise ExprError(f"{what}: invalid line {line!r}")
            body = []
            while True:
                if i >= len(lines):
                    raise ExprError(f"{what}: `{name}<<{delim}` is not closed by a `{delim}` line")
                l2 = lines[i].rstrip("\r")
                i += 1
                if l2 == delim:
                    break
                body.append(l2)
            result[name] = "\n".join(body)
        elif eq > 0:
            result[line[:eq]] = line[eq + 1 :]
        else:
            raise ExprError(f"{what}: invalid line {line!r}")
    return result


COMMAND = re.compile(r"^::([A-Za-z-]+)(?: ([^:]*?))?::(.*)$")


def unescape(s, prop):
    s = s.replace("%0D", "\r").replace("%0A", "\n")
    if prop:
        s = s.replace("%3A", ":").replace("%2C", ",")
    return s.replace("%25", "%")


def annotations(text):
    found = []
    for line in text.splitlines():
        m = COMMAND.match(line)
        if not m or m.group(1) not in ("error", "warning", "notice"):
            continue
        props = {}
        if m.group(2):
            for part in m.group(2).split(","):
                if "=" in part:
                    k, v = part.split("=", 1)
                    props[k.strip()] = unescape(v, True)
        found.append({"command": m.group(1), "properties": props, "message": unescape(m.group(3), False), "raw": line})
    return found


# --- static checks ---------------------------------------------------------------------


def strings(node, path=""):
    """Every (path, string) in the YAML document, keys excluded."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from strings(v, f"{path}.{k}" if path else str(k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from strings(v, f"{path}[{i}]")
    elif isinstance(node, str):
        yield path, node


def writes_output(script, name):
    n = re.escape(name)
    if "GITHUB_OUTPUT" not in script:
        return False
    patterns = [
        rf"(?<![A-Za-z0-9_-]){n}<<",
        rf"\becho\s+(?:-[a-zA-Z]+\s+)*[\"']?{n}=",
        rf"\bprintf\s+(?:--\s+)?[\"']{n}=",
    ]
    return any(re.search(p, script) for p in patterns)


def static_check(action):
    errors, warnings = [], []
    if not isinstance(action, dict):
        return ["action.yml is not a mapping"], []
    for key in ("name", "description", "runs"):
        if key not in action:
            errors.append(f"missing top-level `{key}`")
    runs = action.get("runs") or {}
    if runs.get("using") != "composite":
        errors.append(f"runs.using is {runs.get('using')!r}, expected 'composite'")
    steps = runs.get("steps") or []
    if not isinstance(steps, list) or not steps:
        errors.append("runs.steps is empty")
        steps = []
    inputs = action.get("inputs") or {}
    declared = {str(k) for k in inputs}
    outputs = action.get("outputs") or {}

    ids, order = {}, {}
    for i, step in enumerate(steps):
        where = f"step {i + 1} ({step.get('id') or step.get('name') or step.get('uses') or 'run'})"
        if ("run" in step) == ("uses" in step):
            errors.append(f"{where}: needs exactly one of `run` and `uses`")
        if "run" in step and not step.get("shell"):
            errors.append(f"{where}: a composite `run:` step needs `shell:`")
        if "id" in step:
            sid = str(step["id"])
            if sid in ids:
                errors.append(f"{where}: duplicate step id `{sid}`")
            ids[sid], order[sid] = step, i
        if "run" in step and isinstance(step["run"], str):
            for m in EXPR.finditer(step["run"]):
                expr = m.group(0)
                kind = "an input" if re.search(r"\binputs\b", expr) else "an expression"
                errors.append(
                    f"{where}: {kind} `{expr}` is pasted into the `run:` script text; "
                    "pass it through `env:` and use the variable"
                )

    used_inputs = set()

    def check_refs(text, where, step_index):
        try:
            exprs = [m.group(1) for m in EXPR.finditer(text)]
            if where.endswith(".if") and not EXPR.search(text):
                exprs = [text]
            for e in exprs:
                for chain in references(Parser(e).parse()):
                    if chain[0] == "inputs":
                        if len(chain) < 2:
                            errors.append(f"{where}: `inputs` used as a whole")
                            continue
                        used_inputs.add(chain[1])
                        if chain[1] not in declared:
                            errors.append(f"{where}: `inputs.{chain[1]}` is not declared under `inputs:`")
                    elif chain[0] == "steps" and len(chain) >= 2:
                        sid = chain[1]
                        if sid not in ids:
                            errors.append(f"{where}: `steps.{sid}` names no step")
                        elif step_index is not None and order[sid] >= step_index:
                            errors.append(f"{where}: `steps.{sid}` is not a step before this one")
                    elif chain[0] not in ("github", "env", "runner", "job", "steps", "strategy", "matrix"):
                        errors.append(f"{where}: unknown context `{chain[0]}`")
        except ExprError as e:
            errors.append(f"{where}: {e}")

    for path, text in strings(action):
        step_index = None
        m = re.match(r"runs\.steps\[(\d+)\]", path)
        if m:
            step_index = int(m.group(1))
            if path.endswith(".run"):
                continue  # reported above
        check_refs(text, path, step_index)
    for name in declared:
        if name not in used_inputs:
            warnings.append(f"input `{name}` is declared but never used")

    for name, spec in outputs.items():
        value = (spec or {}).get("value") if isinstance(spec, dict) else None
        if not isinstance(value, str) or not EXPR.search(value):
            errors.append(f"outputs.{name}: needs a `value` expression")
            continue
        refs = []
        for m in EXPR.finditer(value):
            try:
                refs += [c for c in references(Parser(m.group(1)).parse()) if c[0] == "steps"]
            except ExprError as e:
                errors.append(f"outputs.{name}: {e}")
        if not refs:
            errors.append(f"outputs.{name}: its value refers to no step output")
        for chain in refs:
            if len(chain) != 4 or chain[2] != "outputs":
                errors.append(f"outputs.{name}: `{'.'.join(chain)}` is not steps.ID.outputs.NAME")
                continue
            step = ids.get(chain[1])
            if step is None:
                continue  # reported above
            if "run" in step and not writes_output(step["run"], chain[3]):
                errors.append(
                    f"outputs.{name}: step `{chain[1]}` never writes `{chain[3]}` to $GITHUB_OUTPUT"
                )
    return errors, warnings


# --- running ---------------------------------------------------------------------------


def shell_command(shell, script_path):
    shell = str(shell).strip()
    templates = {
        "bash": "bash --noprofile --norc -eo pipefail {0}",
        "sh": "sh -e {0}",
        "python": f"{shlex.quote(sys.executable)} {{0}}",
    }
    template = templates.get(shell, shell)
    if "{0}" not in template:
        raise ExprError(f"shell `{shell}` is not supported (use bash, sh, python or a template with {{0}})")
    return [a.replace("{0}", script_path) for a in shlex.split(template)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("action", help="path of action.yml")
    ap.add_argument("--workspace", default=os.getcwd())
    ap.add_argument("--runner-temp")
    ap.add_argument("--input", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("--env", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("--check-only", action="store_true")
    ap.add_argument("--verbose", action="store_true", help="echo each step's output to stderr")
    args = ap.parse_args()

    with open(args.action, encoding="utf-8") as f:
        action = yaml.safe_load(f)
    errors, warnings = static_check(action)
    result = {
        "exit_code": None,
        "outputs": {},
        "summary": "",
        "stdout": "",
        "stderr": "",
        "annotations": [],
        "skipped_uses": [],
        "steps": [],
        "static_check": {"errors": errors, "warnings": warnings},
        "runner_temp": None,
    }

    def finish(code):
        code = code if 0 <= code <= 255 else 1  # killed by a signal: a failure
        result["exit_code"] = code
        print(json.dumps(result, indent=2))
        sys.exit(code)

    if errors:
        finish(3)
    if args.check_only:
        finish(0)

    declared = action.get("inputs") or {}
    given = {}
    for item in args.input:
        if "=" not in item:
            ap.error(f"--input {item!r}: expected NAME=VALUE")
        k, v = item.split("=", 1)
        if k not in declared:
            ap.error(f"--input {k}: the action declares no such input")
        given[k] = v
    base_env = dict(os.environ)
    for item in args.env:
        if "=" not in item:
            ap.error(f"--env {item!r}: expected NAME=VALUE")
        k, v = item.split("=", 1)
        base_env[k] = v

    workspace = os.path.abspath(args.workspace)
    temp = os.path.abspath(args.runner_temp) if args.runner_temp else tempfile.mkdtemp(prefix="run-action-")
    os.makedirs(temp, exist_ok=True)
    result["runner_temp"] = temp
    action_path = os.path.dirname(os.path.abspath(args.action))
    machine = platform.machine().lower()
    runner = {
        "os": {"linux": "Linux", "darwin": "macOS", "windows": "Windows"}.get(platform.system().lower(), "Linux"),
        "arch": {"x86_64": "X64", "amd64": "X64", "aarch64": "ARM64", "arm64": "ARM64"}.get(machine, machine.upper()),
        "temp": temp,
        "tool_cache": os.path.join(temp, "_tool"),
    }
    github = {
        "action_path": action_path,
        "workspace": workspace,
        "token": base_env.get("GITHUB_TOKEN", ""),
        "repository": base_env.get("GITHUB_REPOSITORY", ""),
        "repository_owner": base_env.get("GITHUB_REPOSITORY_OWNER", ""),
        "actor": base_env.get("GITHUB_ACTOR", ""),
        "sha": base_env.get("GITHUB_SHA", ""),
        "ref": base_env.get("GITHUB_REF", ""),
        "event_name": base_env.get("GITHUB_EVENT_NAME", ""),
        "server_url": base_env.get("GITHUB_SERVER_URL", "https://github.com"),
        "action_ref": "",
        "action_repository": "",
    }
    env_ctx = {}  # the workflow's `env` context: what GITHUB_ENV adds (composite steps' own env is not in it)
    steps_ctx = {}
    ctx = Context({"inputs": {}, "github": github, "env": env_ctx, "steps": steps_ctx, "runner": runner, "job": {}})

    inputs = {}
    missing = []
    for name, spec in declared.items():
        spec = spec or {}
        if name in given:
            inputs[name] = given[name]
        elif "default" in spec:
            inputs[name] = expand(to_str(spec["default"]) if not isinstance(spec["default"], str) else spec["default"], ctx)
        else:
            inputs[name] = ""
            if spec.get("required"):
                missing.append(name)
    if missing:
        ap.error("required input(s) not given: " + ", ".join(missing))
    ctx.contexts["inputs"] = inputs

    path_additions = []
    added_env = {}
    status = "success"
    exit_code = 0
    stdout_all, stderr_all, summaries = [], [], []
    for index, step in enumerate(action["runs"]["steps"]):
        sid = str(step.get("id", f"__{index}"))
        record = {"id": sid, "name": step.get("name", ""), "kind": "run" if "run" in step else "uses",
                  "outcome": None, "exit_code": None, "outputs": {}}
        result["steps"].append(record)
        ctx.status = status
        try:
            run_it = truthy(ctx.eval(Parser(condition(step.get("if"))).parse()))
        except ExprError as e:
            record["outcome"] = "error"
            stderr_all.append(f"run_action.py: step {sid}: if: {e}\n")
            status, exit_code = "failure", exit_code or 1
            steps_ctx[sid] = {"outputs": {}, "outcome": "failure", "conclusion": "failure"}
            continue
        if "uses" in step:
            with_ = {str(k): expand(v if isinstance(v, str) else to_str(v), ctx) for k, v in (step.get("with") or {}).items()}
            result["skipped_uses"].append({"id": sid, "uses": step["uses"], "with": with_, "if": to_str(step.get("if")) if "if" in step else None, "condition_true": run_it})
            record["outcome"] = "skipped"
            steps_ctx[sid] = {"outputs": {}, "outcome": "skipped", "conclusion": "skipped"}
            continue
        if not run_it:
            record["outcome"] = "skipped"
            steps_ctx[sid] = {"outputs": {}, "outcome": "skipped", "conclusion": "skipped"}
            continue

        step_dir = tempfile.mkdtemp(prefix=f"step-{index}-", dir=temp)
        files = {k: os.path.join(step_dir, k.lower()) for k in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STATE")}
        for p in files.values():
            open(p, "w").close()
        env = dict(base_env)
        for k in list(env):
            if k.startswith("INPUT_"):
                del env[k]
        env.update(added_env)
        if path_additions:
            env["PATH"] = os.pathsep.join(reversed(path_additions)) + os.pathsep + env.get("PATH", "")
        env.update(files)
        env.update({
            "GITHUB_ACTIONS": "true",
            "CI": "true",
            "GITHUB_WORKSPACE": workspace,
            "RUNNER_TEMP": temp,
            "RUNNER_OS": runner["os"],
            "RUNNER_ARCH": runner["arch"],
            "RUNNER_TOOL_CACHE": runner["tool_cache"],
            "GITHUB_ACTION_PATH": action_path,
            "GITHUB_ACTION": sid,
        })
        try:
            for k, v in (step.get("env") or {}).items():
                env[str(k)] = expand(v if isinstance(v, str) else to_str(v), ctx)
            cwd = workspace
            if step.get("working-directory"):
                cwd = os.path.join(workspace, expand(step["working-directory"], ctx))
            script = os.path.join(temp, f"step-{index}-{sid}.{'py' if step['shell'] == 'python' else 'sh'}")
            with open(script, "w", encoding="utf-8") as f:
                f.write(step["run"])
            command = shell_command(step["shell"], script)
        except ExprError as e:
            stderr_all.append(f"run_action.py: step {sid}: {e}\n")
            record["outcome"] = "error"
            status, exit_code = "failure", exit_code or 1
            steps_ctx[sid] = {"outputs": {}, "outcome": "failure", "conclusion": "failure"}
            continue
        proc = subprocess.run(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True)
        out = proc.stdout.decode("utf-8", "replace")
        err = proc.stderr.decode("utf-8", "replace")
        stdout_all.append(out)
        stderr_all.append(err)
        if args.verbose:
            sys.stderr.write(f"--- step {sid} (exit {proc.returncode})\n{out}{err}")
        record["exit_code"] = proc.returncode
        try:
            outputs = parse_file_command(open(files["GITHUB_OUTPUT"], encoding="utf-8").read(), f"{sid}: GITHUB_OUTPUT")
            added_env.update(parse_file_command(open(files["GITHUB_ENV"], encoding="utf-8").read(), f"{sid}: GITHUB_ENV"))
        except ExprError as e:
            stderr_all.append(f"run_action.py: {e}\n")
            outputs = {}
            proc = subprocess.CompletedProcess(command, proc.returncode or 1)
        env_ctx.clear()
        env_ctx.update(added_env)
        for line in open(files["GITHUB_PATH"], encoding="utf-8").read().splitlines():
            if line.strip():
                path_additions.append(line.strip())
        summaries.append(open(files["GITHUB_STEP_SUMMARY"], encoding="utf-8").read())
        record["outputs"] = outputs
        outcome = "success" if proc.returncode == 0 else "failure"
        conclusion = "success" if outcome == "success" or step.get("continue-on-error") in (True, "true") else "failure"
        record["outcome"] = outcome
        steps_ctx[sid] = {"outputs": outputs, "outcome": outcome, "conclusion": conclusion}
        if conclusion == "failure":
            status = "failure"
            if exit_code == 0:
                exit_code = proc.returncode or 1

    for name, spec in (action.get("outputs") or {}).items():
        try:
            result["outputs"][name] = expand(spec.get("value", ""), ctx)
        except ExprError as e:
            stderr_all.append(f"run_action.py: outputs.{name}: {e}\n")
            exit_code = exit_code or 1
    result["stdout"] = "".join(stdout_all)
    result["stderr"] = "".join(stderr_all)
    result["summary"] = "".join(summaries)
    result["annotations"] = annotations(result["stdout"]) + annotations(result["stderr"])
    finish(exit_code)


if __name__ == "__main__":
    main()

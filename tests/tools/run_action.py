#!/usr/bin/env python3
"""Runs the steps of the composite GitHub Action (action.yml) the way a runner does, locally.

There is no GitHub runner where wasipack is developed, so tests/action.rs runs the action with
this script:

    python3 tests/tools/run_action.py action.yml --workspace DIR [--runner-temp DIR] \\
        [--input NAME=VALUE ...]
    python3 tests/tools/run_action.py action.yml --check-only

It prints one JSON object on stdout:

    {"exit_code": N, "outputs": {...}, "summary": "...", "stdout": "...", "stderr": "...",
     "annotations": [{"command", "properties", "message", "raw"}],
     "skipped_uses": [{"id", "uses", "with", "if", "condition_true"}],
     "steps": [{"id", "name", "kind", "outcome", "exit_code", "outputs", "seconds"}],
     "path_additions": [...], "static_check": {"errors": [...], "warnings": [...]},
     "runner_temp": "..."}

and exits with the action's exit code (0 when every step passed), 3 when the static checks fail
(nothing is run then), 2 on a usage error.

As GitHub's runner does, it expands `${{ ... }}` in input defaults, `if:`, `env:`, `with:` and
the action's `outputs:` (the `inputs`, `github`, `steps`, `runner` contexts; literals;
`== != ! && ||`; `always() success() failure() cancelled()`; an `if:` without a status function
means `success() && (...)`; strings compare ignoring case). Composite steps get no `INPUT_*`
variables. Each `run:` step runs with `bash --noprofile --norc -eo pipefail` in the workspace,
with GITHUB_ACTIONS=true, GITHUB_WORKSPACE, RUNNER_TEMP, RUNNER_TOOL_CACHE (the environment's,
else RUNNER_TEMP/tool-cache), GITHUB_ACTION_PATH, RUNNER_OS, RUNNER_ARCH and fresh GITHUB_OUTPUT,
GITHUB_STEP_SUMMARY and GITHUB_PATH files, read after the step (outputs as `name=value` lines and
`name<<DELIM` blocks; GITHUB_PATH lines go before PATH in later steps, and into
`path_additions`). `seconds` is a step's wall-clock time. `uses:` steps are not run: they are
listed in `skipped_uses`.

Static checks, made before anything runs (and alone with --check-only):
- `runs.using` is `composite`, every `run:` step has `shell: bash`, step ids are unique;
- every `inputs.X` used is declared; every `steps.ID` names an earlier step;
- no `${{ ... }}` in a `run:` script (everything reaches the shell through `env:`);
- every declared output refers to `steps.ID.outputs.NAME` of a step that writes NAME: a bash
  step that writes `NAME<<...` (or `"NAME=$...` in its list of outputs) to $GITHUB_OUTPUT, or a
  step that runs `wasipack COMMAND ... --github-output`, whose names are WASIPACK_OUTPUTS
  (checked against what wasipack writes whenever such a step runs);
- an input that nothing uses is a warning.
"""

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time

try:
    import yaml
except ImportError:  # pragma: no cover - the venv has PyYAML
    sys.stderr.write("run_action.py needs PyYAML: use .tools/venv/bin/python (scripts/install-tools.sh)\n")
    sys.exit(2)

# What `wasipack COMMAND --github-output FILE` writes (docs/action.md).
WASIPACK_OUTPUTS = {
    "build": ["verdict", "name", "wasm-path", "spdx-path", "cyclonedx-path", "report-path",
              "sarif-path", "digest", "ref", "layout", "tag"],
    "push": ["digest", "ref", "pushed", "target", "signatures", "attestations"],
    "sign": ["signatures", "attestations"],
    "attest": ["signatures", "attestations"],
}


# --- expressions ------------------------------------------------------------------------


class ExprError(Exception):
    pass


TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>\d+(?:\.\d+)?)|(?P<op>==|!=|&&|\|\||[!().\[\],])"
    r"|(?P<ident>[A-Za-z_][A-Za-z0-9_-]*))"
)
STATUS_FUNCTIONS = {"always", "success", "failure", "cancelled"}


def parse(text):
    """An expression to a tree: ('lit', v), ('ctx', name), ('prop', node, name), ('not', node),
    ('bin', op, a, b), ('call', name, [args])."""
    tokens, pos = [], 0
    while text[pos:].strip():
        m = TOKEN.match(text, pos)
        if not m:
            raise ExprError(f"cannot parse expression at {text[pos:]!r}")
        pos = m.end()
        tokens.append((m.lastgroup, m.group(m.lastgroup)))
    i = 0

    def peek():
        return tokens[i] if i < len(tokens) else (None, None)

    def take(value=None):
        nonlocal i
        tok = peek()
        if tok[0] is None or (value is not None and tok[1] != value):
            raise ExprError(f"expected {value or 'more'} in expression {text!r}")
        i += 1
        return tok

    def binary(ops, operand):
        def rule():
            node = operand()
            while peek()[0] == "op" and peek()[1] in ops:
                node = ("bin", take()[1], node, operand())
            return node
        return rule

    def unary():
        if peek() == ("op", "!"):
            take()
            return ("not", unary())
        node = primary()
        while peek() in (("op", "."), ("op", "[")):
            if take()[1] == ".":
                node = ("prop", node, take()[1])
            else:
                key = take()
                if key[0] != "str":
                    raise ExprError(f"only 'literal' indexes are supported: {text!r}")
                take("]")
                node = ("prop", node, key[1][1:-1].replace("''", "'"))
        return node

    def primary():
        kind, value = take()
        if kind == "str":
            return ("lit", value[1:-1].replace("''", "'"))
        if kind == "num":
            return ("lit", float(value))
        if (kind, value) == ("op", "("):
            node = or_()
            take(")")
            return node
        if kind == "ident":
            if value in ("true", "false", "null"):
                return ("lit", {"true": True, "false": False, "null": None}[value])
            if peek() == ("op", "("):
                take()
                if peek() != ("op", ")"):
                    raise ExprError(f"`{value}()` takes no arguments here")
                take(")")
                if value.lower() not in STATUS_FUNCTIONS:
                    raise ExprError(f"function `{value}()` is not supported by run_action.py")
                return ("call", value.lower(), [])
            return ("ctx", value.lower())
        raise ExprError(f"unexpected {value!r} in expression {text!r}")

    eq = binary(("==", "!="), unary)
    and_ = binary(("&&",), eq)
    or_ = binary(("||",), and_)
    node = or_()
    if i != len(tokens):
        raise ExprError(f"unexpected {peek()[1]!r} in expression {text!r}")
    return node


def to_str(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    return str(v)


def truthy(v):
    return v not in (None, False, "", 0.0)


def equal(a, b):
    if isinstance(a, str) and isinstance(b, str):
        return a.casefold() == b.casefold()
    return to_str(a) == to_str(b)


def evaluate(node, contexts, status):
    kind = node[0]
    if kind == "lit":
        return node[1]
    if kind == "ctx":
        if node[1] not in contexts:
            raise ExprError(f"unknown context `{node[1]}`")
        return contexts[node[1]]
    if kind == "prop":
        base = evaluate(node[1], contexts, status)
        if isinstance(base, dict):
            return next((v for k, v in base.items() if k.casefold() == node[2].casefold()), None)
        return None
    if kind == "not":
        return not truthy(evaluate(node[1], contexts, status))
    if kind == "call":
        return {"always": True, "success": status == "success", "failure": status == "failure",
                "cancelled": False}[node[1]]
    op, a = node[1], evaluate(node[2], contexts, status)
    if op == "&&":
        return evaluate(node[3], contexts, status) if truthy(a) else a
    if op == "||":
        return a if truthy(a) else evaluate(node[3], contexts, status)
    b = evaluate(node[3], contexts, status)
    return equal(a, b) if op == "==" else not equal(a, b)


EXPR = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)


def expand(text, contexts, status="success"):
    """Replaces every ${{ expr }} in a string (GitHub's template semantics)."""
    if not isinstance(text, str):
        return to_str(text)
    return EXPR.sub(lambda m: to_str(evaluate(parse(m.group(1)), contexts, status)), text)


def condition(value):
    """The expression of an `if:`, status-checked as GitHub does."""
    if value is None:
        return "success()"
    text = to_str(value).strip()
    m = re.fullmatch(r"\$\{\{(.*)\}\}", text, re.DOTALL)
    text = m.group(1).strip() if m else text
    uses_status = any(n[0] == "call" for n in walk(parse(text)))
    return text if uses_status else f"success() && ({text})"


def walk(node):
    yield node
    for child in node[1:]:
        if isinstance(child, tuple):
            yield from walk(child)


def references(node):
    """Property chains rooted at a context: ('inputs', 'name'), ('steps', 'id', 'outputs', 'x')."""
    def chain(n):
        if n[0] == "ctx":
            return [n[1]]
        if n[0] == "prop":
            c = chain(n[1])
            return c + [n[2]] if c is not None else None
        return None

    found = []

    def visit(n):
        c = chain(n) if n[0] in ("prop", "ctx") else None
        if c is not None:
            found.append(tuple(c))
            return
        for child in n[1:]:
            if isinstance(child, tuple):
                visit(child)

    visit(node)
    return found


# --- GitHub's files and workflow commands -----------------------------------------------


def parse_outputs(text, what):
    """`name=value` lines and `name<<DELIM` ... `DELIM` blocks, as the runner reads them."""
    result, lines, i = {}, text.split("\n"), 0
    while i < len(lines):
        line = lines[i].rstrip("\r")
        i += 1
        if line == "":
            continue
        eq, heredoc = line.find("="), line.find("<<")
        if heredoc >= 0 and (eq < 0 or heredoc < eq):
            name, delim = line[:heredoc], line[heredoc + 2:]
            if not name or not delim:
                raise ExprError(f"{what}: invalid line {line!r}")
            body = []
            while True:
                if i >= len(lines):
                    raise ExprError(f"{what}: `{name}<<{delim}` is not closed by a `{delim}` line")
                i += 1
                if lines[i - 1].rstrip("\r") == delim:
                    break
                body.append(lines[i - 1].rstrip("\r"))
            result[name] = "\n".join(body)
        elif eq > 0:
            result[line[:eq]] = line[eq + 1:]
        else:
            raise ExprError(f"{what}: invalid line {line!r}")
    return result


COMMAND = re.compile(r"^::(error|warning|notice)(?: ([^:]*?))?::(.*)$")


def unescape(s, prop):
    s = s.replace("%0D", "\r").replace("%0A", "\n")
    if prop:
        s = s.replace("%3A", ":").replace("%2C", ",")
    return s.replace("%25", "%")


def annotations(text):
    found = []
    for line in text.splitlines():
        m = COMMAND.match(line)
        if not m:
            continue
        props = {}
        for part in (m.group(2) or "").split(","):
            if "=" in part:
                k, v = part.split("=", 1)
                props[k.strip()] = unescape(v, True)
        found.append({"command": m.group(1), "properties": props,
                      "message": unescape(m.group(3), False), "raw": line})
    return found


# --- static checks ----------------------------------------------------------------------


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


def wasipack_command(script):
    """The wasipack command a step runs with --github-output, if it does."""
    if "--github-output" not in script:
        return None
    m = re.search(r'(?:\bargs=\(|"\$WASIPACK"\s+)([a-z][a-z-]*)', script)
    return m.group(1) if m and m.group(1) in WASIPACK_OUTPUTS else None


def writes_output(script, name):
    command = wasipack_command(script)
    if command:
        return name in WASIPACK_OUTPUTS[command]
    n = re.escape(name)
    return "GITHUB_OUTPUT" in script and bool(
        re.search(rf"(?<![A-Za-z0-9_-]){n}<<", script) or re.search(rf"\"{n}=\$", script))


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
    declared = {str(k) for k in (action.get("inputs") or {})}
    ids, order = {}, {}
    for i, step in enumerate(steps):
        where = f"step {i + 1} ({step.get('id') or step.get('name') or step.get('uses') or 'run'})"
        if ("run" in step) == ("uses" in step):
            errors.append(f"{where}: needs exactly one of `run` and `uses`")
        if "run" in step and step.get("shell") != "bash":
            errors.append(f"{where}: a `run:` step needs `shell: bash` (the only shell run here)")
        if "id" in step:
            sid = str(step["id"])
            if sid in ids:
                errors.append(f"{where}: duplicate step id `{sid}`")
            ids[sid], order[sid] = step, i
        for m in EXPR.finditer(str(step.get("run", ""))):
            kind = "an input" if re.search(r"\binputs\b", m.group(0)) else "an expression"
            errors.append(f"{where}: {kind} `{m.group(0)}` is pasted into the `run:` script text; "
                          "pass it through `env:` and use the variable")

    used = set()
    for path, text in strings(action):
        m = re.match(r"runs\.steps\[(\d+)\]", path)
        index = int(m.group(1)) if m else None
        if path.endswith(".run"):
            continue  # reported above
        exprs = [e.group(1) for e in EXPR.finditer(text)]
        if path.endswith(".if") and not exprs:
            exprs = [text]
        try:
            chains = [c for e in exprs for c in references(parse(e))]
        except ExprError as e:
            errors.append(f"{path}: {e}")
            continue
        for chain in chains:
            if chain[0] == "inputs" and len(chain) >= 2:
                used.add(chain[1])
                if chain[1] not in declared:
                    errors.append(f"{path}: `inputs.{chain[1]}` is not declared under `inputs:`")
            elif chain[0] == "steps" and len(chain) >= 2:
                if chain[1] not in ids:
                    errors.append(f"{path}: `steps.{chain[1]}` names no step")
                elif index is not None and order[chain[1]] >= index:
                    errors.append(f"{path}: `steps.{chain[1]}` is not a step before this one")
            elif chain[0] not in ("github", "runner", "env", "job"):
                errors.append(f"{path}: unknown context or use of `{'.'.join(chain)}`")
    warnings += [f"input `{n}` is declared but never used" for n in sorted(declared - used)]

    for name, spec in (action.get("outputs") or {}).items():
        value = spec.get("value") if isinstance(spec, dict) else None
        if not isinstance(value, str) or not EXPR.search(value):
            errors.append(f"outputs.{name}: needs a `value` expression")
            continue
        try:
            refs = [c for e in EXPR.finditer(value) for c in references(parse(e.group(1)))
                    if c[0] == "steps"]
        except ExprError as e:
            errors.append(f"outputs.{name}: {e}")
            continue
        if not refs:
            errors.append(f"outputs.{name}: its value refers to no step output")
        for chain in refs:
            if len(chain) != 4 or chain[2] != "outputs":
                errors.append(f"outputs.{name}: `{'.'.join(chain)}` is not steps.ID.outputs.NAME")
            elif chain[1] in ids and "run" in ids[chain[1]] and not writes_output(ids[chain[1]]["run"], chain[3]):
                errors.append(f"outputs.{name}: step `{chain[1]}` never writes `{chain[3]}` to $GITHUB_OUTPUT")
    return errors, warnings


# --- running ----------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("action", help="path of action.yml")
    ap.add_argument("--workspace", default=os.getcwd())
    ap.add_argument("--runner-temp")
    ap.add_argument("--input", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("--check-only", action="store_true")
    args = ap.parse_args()

    with open(args.action, encoding="utf-8") as f:
        action = yaml.safe_load(f)
    errors, warnings = static_check(action)
    result = {"exit_code": None, "outputs": {}, "summary": "", "stdout": "", "stderr": "",
              "annotations": [], "skipped_uses": [], "steps": [], "path_additions": [],
              "static_check": {"errors": errors, "warnings": warnings}, "runner_temp": None}

    def finish(code):
        result["exit_code"] = code if 0 <= code <= 255 else 1  # killed by a signal: a failure
        print(json.dumps(result, indent=2))
        sys.exit(result["exit_code"])

    if errors:
        finish(3)
    if args.check_only:
        finish(0)

    declared = action.get("inputs") or {}
    given = {}
    for item in args.input:
        name, eq, value = item.partition("=")
        if not eq or name not in declared:
            ap.error(f"--input {item!r}: expected NAME=VALUE with a declared NAME")
        given[name] = value
    workspace = os.path.abspath(args.workspace)
    temp = os.path.abspath(args.runner_temp) if args.runner_temp else tempfile.mkdtemp(prefix="run-action-")
    os.makedirs(temp, exist_ok=True)
    result["runner_temp"] = temp
    action_path = os.path.dirname(os.path.abspath(args.action))
    tool_cache = os.environ.get("RUNNER_TOOL_CACHE") or os.path.join(temp, "tool-cache")
    machine = platform.machine().lower()
    runner = {"os": {"darwin": "macOS", "windows": "Windows"}.get(platform.system().lower(), "Linux"),
              "arch": {"x86_64": "X64", "amd64": "X64", "aarch64": "ARM64", "arm64": "ARM64"}.get(machine, machine.upper()),
              "temp": temp, "tool_cache": tool_cache}
    env0 = {k: v for k, v in os.environ.items() if not k.startswith("INPUT_")}
    github = {"action_path": action_path, "workspace": workspace,
              "token": env0.get("GITHUB_TOKEN", ""), "repository": env0.get("GITHUB_REPOSITORY", ""),
              "actor": env0.get("GITHUB_ACTOR", ""), "sha": env0.get("GITHUB_SHA", ""),
              "server_url": env0.get("GITHUB_SERVER_URL", "https://github.com")}
    steps_ctx = {}
    contexts = {"inputs": {}, "github": github, "steps": steps_ctx, "runner": runner, "env": {}, "job": {}}
    contexts["inputs"] = {name: given[name] if name in given else expand((spec or {}).get("default", ""), contexts)
                          for name, spec in declared.items()}

    path_additions, status, exit_code = [], "success", 0
    stdout_all, stderr_all, summaries = [], [], []
    for index, step in enumerate(action["runs"]["steps"]):
        sid = str(step.get("id", f"__{index}"))
        record = {"id": sid, "name": step.get("name", ""), "kind": "run" if "run" in step else "uses",
                  "outcome": "skipped", "exit_code": None, "outputs": {}}
        result["steps"].append(record)
        steps_ctx[sid] = {"outputs": {}, "outcome": "skipped", "conclusion": "skipped"}
        try:
            run_it = truthy(evaluate(parse(condition(step.get("if"))), contexts, status))
            env = dict(env0)
            for k, v in (step.get("env") or {}).items():
                env[str(k)] = expand(v, contexts, status)
            with_ = {str(k): expand(v, contexts, status) for k, v in (step.get("with") or {}).items()}
        except ExprError as e:
            stderr_all.append(f"run_action.py: step {sid}: {e}\n")
            record["outcome"] = "error"
            status, exit_code = "failure", exit_code or 1
            continue
        if "uses" in step:
            result["skipped_uses"].append({"id": sid, "uses": step["uses"], "with": with_,
                                           "if": step.get("if"), "condition_true": run_it})
            continue
        if not run_it:
            continue

        step_dir = tempfile.mkdtemp(prefix=f"step-{index}-", dir=temp)
        files = {k: os.path.join(step_dir, k.lower()) for k in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_PATH")}
        for p in files.values():
            open(p, "w").close()
        if path_additions:
            env["PATH"] = os.pathsep.join(reversed(path_additions)) + os.pathsep + env.get("PATH", "")
        env.update(files)
        env.update({"GITHUB_ACTIONS": "true", "CI": "true", "GITHUB_WORKSPACE": workspace,
                    "RUNNER_TEMP": temp, "RUNNER_TOOL_CACHE": tool_cache, "RUNNER_OS": runner["os"], "RUNNER_ARCH": runner["arch"],
                    "GITHUB_ACTION_PATH": action_path, "GITHUB_ACTION": sid})
        script = os.path.join(temp, f"step-{index}-{sid}.sh")
        with open(script, "w", encoding="utf-8") as f:
            f.write(step["run"])
        started = time.monotonic()
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", script],
                              cwd=workspace, env=env, stdin=subprocess.DEVNULL, capture_output=True)
        record["seconds"] = round(time.monotonic() - started, 3)
        stdout_all.append(proc.stdout.decode("utf-8", "replace"))
        stderr_all.append(proc.stderr.decode("utf-8", "replace"))
        code = proc.returncode
        try:
            with open(files["GITHUB_OUTPUT"], encoding="utf-8") as f:
                outputs = parse_outputs(f.read(), f"{sid}: GITHUB_OUTPUT")
        except ExprError as e:
            stderr_all.append(f"run_action.py: {e}\n")
            outputs, code = {}, code or 1
        command = wasipack_command(step["run"])
        if command:
            # What the static check assumed is what wasipack writes.
            want, got = set(WASIPACK_OUTPUTS[command]), set(outputs)
            if (code == 0 and got != want) or not got <= want:
                errors.append(f"step `{sid}`: `wasipack {command}` wrote the outputs {sorted(got)}, "
                              f"but WASIPACK_OUTPUTS says {sorted(want)}")
        with open(files["GITHUB_PATH"], encoding="utf-8") as f:
            path_additions += [line.strip() for line in f if line.strip()]
        with open(files["GITHUB_STEP_SUMMARY"], encoding="utf-8") as f:
            summaries.append(f.read())
        outcome = "success" if code == 0 else "failure"
        record.update(outcome=outcome, exit_code=code, outputs=outputs)
        steps_ctx[sid] = {"outputs": outputs, "outcome": outcome, "conclusion": outcome}
        if code != 0:
            status, exit_code = "failure", exit_code or code

    for name, spec in (action.get("outputs") or {}).items():
        try:
            result["outputs"][name] = expand(spec.get("value", ""), contexts, status)
        except ExprError as e:
            stderr_all.append(f"run_action.py: outputs.{name}: {e}\n")
            exit_code = exit_code or 1
    result["path_additions"] = path_additions
    result["stdout"] = "".join(stdout_all)
    result["stderr"] = "".join(stderr_all)
    result["summary"] = "".join(summaries)
    result["annotations"] = annotations(result["stdout"]) + annotations(result["stderr"])
    finish(exit_code)


if __name__ == "__main__":
    main()

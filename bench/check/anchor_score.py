#!/usr/bin/env python3
"""Scores leakwatch and the anchor linters on the labelled corpus.

Usage: anchor_score.py CORPUS_DIR OUT_DIR (written by anchors.sh)."""
import json
import os
import re
import sys
from collections import defaultdict

CORPUS, OUT = sys.argv[1], sys.argv[2]
ESLINT_COPY = os.path.realpath(sys.argv[3]) if len(sys.argv) > 3 else None
RESOURCE = ["unclosed-resource", "unreleased-connection"]

# Anchor rule -> our labels it may honestly count for (leak-related reasons only).
MAPPING = {
    "ruff": {
        "B019": ["unbounded-cache"],          # lru_cache/cache on methods: keeps self alive
        "SIM115": RESOURCE,                   # open() without a context manager
    },
    "pylint": {
        "W1518": ["unbounded-cache"],         # method-cache-max-size-none
        "R1732": RESOURCE,                    # consider-using-with (open, sockets, Popen...)
    },
    "eslint": {
        "no-undef": ["accidental-global"],    # assignment to an undeclared name
        "no-implicit-globals": ["accidental-global"],
        "listeners/no-missing-remove-event-listener": ["listener-leak"],
        "listeners/matching-remove-event-listener": ["listener-leak"],
        "listeners/no-inline-function-event-listener": ["listener-leak"],
        "clean-timer/assign-timer-id": ["uncleared-timer", "unstoppable-task"],
    },
    "go vet": {
        "lostcancel": ["unstoppable-task", "uncleared-timer"],  # leaked context timer/goroutine
    },
    "staticcheck": {
        "SA1015": ["uncleared-timer"],        # time.Tick leaks outside main
        "SA9001": ["unclosed-resource"],      # defer in range loop
    },
    # RuboCop has no leak cop; the nearest are the cops against process-wide
    # mutable state (class variables, globals), counted generously for the
    # rules about long-lived collections.
    "rubocop": {
        "Style/ClassVars": ["global-accumulator", "unbounded-cache"],
        "Style/GlobalVars": ["global-accumulator", "unbounded-cache"],
    },
    # PHPMD likewise: its Superglobals rule ($GLOBALS and friends) is the one
    # closest to a leak claim.
    "phpmd": {
        "Superglobals": ["global-accumulator", "unbounded-cache"],
    },
}
LANGS = {
    "ruff": (".py",), "pylint": (".py",), "eslint": (".js", ".ts", ".tsx"),
    "go vet": (".go",), "staticcheck": (".go",), "rubocop": (".rb",), "phpmd": (".php",),
    "leakwatch": (".py", ".js", ".ts", ".tsx", ".go", ".java", ".rb", ".php"),
}

labels = {}  # (realpath, line) -> set(rules)
files = []
for d, _, fs in os.walk(CORPUS):
    for f in fs:
        p = os.path.realpath(os.path.join(d, f))
        files.append(p)
        for i, line in enumerate(open(p, encoding="utf-8"), 1):
            m = re.search(r"expect: ([a-z, -]+)", line)
            if m:
                labels[(p, i)] = {r.strip() for r in m.group(1).split(",") if r.strip()}
n_cases = sum(len(v) for v in labels.values())


def flags_from_outputs():
    out = defaultdict(list)  # anchor -> [(path, line, code)]
    lw = json.load(open(os.path.join(OUT, "leakwatch.json")))
    for f in lw["findings"]:
        out["leakwatch"].append((os.path.realpath(f["path"]), f["line"], f["rule"]))
    try:
        for m in json.load(open(os.path.join(OUT, "ruff.json"))):
            out["ruff"].append((os.path.realpath(m["filename"]), m["location"]["row"], m["code"] or ""))
    except (ValueError, OSError):
        pass
    try:
        for m in json.load(open(os.path.join(OUT, "pylint.json"))):
            out["pylint"].append((os.path.realpath(m["path"]), m["line"], m["message-id"]))
    except (ValueError, OSError):
        pass
    try:
        for fr in json.load(open(os.path.join(OUT, "eslint.json"))):
            for m in fr["messages"]:
                path = os.path.realpath(fr["filePath"])
                if ESLINT_COPY and path.startswith(ESLINT_COPY):
                    path = os.path.realpath(CORPUS) + path[len(ESLINT_COPY):]
                rule = m.get("ruleId") or "parse"
                if rule == "no-undef":
                    # Only an assignment to an undeclared name claims a leak
                    # (an accidental global); an undefined read does not.
                    name = re.match(r"'([^']+)'", m.get("message", ""))
                    text = open(path, encoding="utf-8").read().split("\n")[m.get("line", 1) - 1]
                    col = m.get("column", 1) - 1
                    if not name or not re.match(re.escape(name.group(1)) + r"\s*(=[^=]|\+\+|--)", text[col:]):
                        rule = "no-undef (read)"
                out["eslint"].append((path, m.get("line", 0), rule))
    except (ValueError, OSError):
        pass
    try:
        # EnabledByDefault also turns on RuboCop's own InternalAffairs cops,
        # which print a warning before the JSON on stdout.
        text = open(os.path.join(OUT, "rubocop.json")).read()
        for fr in json.loads(text[text.find('{"metadata"'):])["files"]:
            for m in fr["offenses"]:
                out["rubocop"].append((os.path.realpath(fr["path"]), m["location"]["start_line"], m["cop_name"]))
    except (ValueError, OSError, KeyError):
        pass
    try:
        for fr in json.load(open(os.path.join(OUT, "phpmd.json")))["files"]:
            for m in fr["violations"]:
                out["phpmd"].append((os.path.realpath(fr["file"]), m["beginLine"], m["rule"]))
    except (ValueError, OSError, KeyError):
        pass
    gomap = {}
    broken = set()
    for line in open(os.path.join(OUT, "go-map.txt")):
        pkg, path = line.split()
        gomap[pkg] = os.path.realpath(path)
    for line in open(os.path.join(OUT, "govet.txt")):
        m = re.match(r"\.?/?(p[0-9a-f]{8})/x\.go:(\d+):\d+: (.*)", line)
        if not m:
            continue
        code = "lostcancel" if "cancel function" in m.group(3) else "other"
        if re.search(r"undefined|cannot|could not import|not used|declared and not used", m.group(3)):
            broken.add(m.group(1))
            continue
        out["go vet"].append((gomap[m.group(1)], int(m.group(2)), code))
    for line in open(os.path.join(OUT, "staticcheck.json")):
        try:
            m = json.loads(line)
        except ValueError:
            continue
        pkg = re.search(r"(p[0-9a-f]{8})/x\.go", m["location"]["file"])
        if not pkg:
            continue
        if m["code"] == "compile":
            broken.add(pkg.group(1))
            continue
        out["staticcheck"].append((gomap[pkg.group(1)], m["location"]["line"], m["code"]))
    return out, len(broken), len(gomap)


flags, go_broken, go_total = flags_from_outputs()
print(f"labelled leaky cases: {n_cases} in {len(files)} files")
print(f"{'tool':<12} {'caught':>7} {'cases in its languages':>23} {'recall there':>13} {'FP':>4}  leak-related codes that fired")
rows = {}
caught_by = {}
for tool in ["leakwatch", "ruff", "pylint", "eslint", "go vet", "staticcheck", "rubocop", "phpmd"]:
    own = {k: v for k, v in labels.items() if k[0].endswith(LANGS[tool])}
    own_n = sum(len(v) for v in own.values())
    caught, fp, fired = set(), 0, defaultdict(int)
    for path, line, code in flags.get(tool, []):
        ours = [code] if tool == "leakwatch" else MAPPING[tool].get(code)
        if not ours:
            continue  # not a leak-related finding
        fired[code] += 1
        hit = labels.get((path, line), set()) & set(ours)
        if hit:
            caught |= {(path, line, r) for r in hit}
        else:
            fp += 1
    rows[tool] = len(caught)
    caught_by[tool] = caught
    codes = ", ".join(f"{c}x{n}" for c, n in sorted(fired.items())) if tool != "leakwatch" else "(all rules)"
    print(f"{tool:<12} {len(caught):>7} {own_n:>23} {len(caught)/max(own_n,1):>13.3f} {fp:>4}  {codes}")
best = max(v for k, v in rows.items() if k != "leakwatch")
print(f"\nleakwatch catches {rows['leakwatch']} vs best anchor {best}: "
      f"{rows['leakwatch']/max(best,1):.1f}x")
missed = set().union(*(v for k, v in caught_by.items() if k != "leakwatch")) - caught_by["leakwatch"]
print(f"cases an anchor catches that leakwatch misses: {len(missed)}")
for path, line, rule in sorted(missed):
    print(f"  {os.path.relpath(path, CORPUS)}:{line} {rule}")
if go_broken:
    print(f"note: {go_broken} of {go_total} Go corpus files do not type-check on their own "
          f"(snippets call undefined helpers); go vet/staticcheck report nothing for those.")
try:
    php_lint = open(os.path.join(OUT, "php-lint.txt")).read()
    print(f"php -l: {php_lint.count('No syntax errors')} PHP corpus files parse, "
          f"{php_lint.count('Parse error')} do not")
except OSError:
    pass
for tool in ("rubocop", "phpmd"):
    if not flags.get(tool):
        print(f"note: {tool} produced no output (not installed?)")
if not flags.get("eslint"):
    print("note: eslint produced no output; see out/eslint.stderr")

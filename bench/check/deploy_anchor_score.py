#!/usr/bin/env python3
"""Scores leakwatch and the deployment linters on the labelled deployment
corpus. Usage: deploy_anchor_score.py CORPUS_DIR OUT_DIR (deploy_anchors.sh)."""
import json
import os
import re
import sys
from collections import defaultdict

CORPUS, OUT = os.path.realpath(sys.argv[1]), sys.argv[2]

# Anchor check -> the labels it may honestly count for.
MAPPING = {
    "checkov": {
        "CKV_K8S_13": ["memory-limit-missing"],   # memory limits should be set
        "CKV_K8S_8": ["no-liveness-probe"],       # liveness probe should be configured
        "CKV_DOCKER_2": ["no-liveness-probe"],    # HEALTHCHECK should exist
    },
    "hadolint": {},                                # no memory, restart or probe rule
    "compose-lint": {
        "CL-0026/memory": ["memory-limit-missing"],  # no memory limit (CIS 5.10)
    },
    "dclint": {},                                  # style and security rules only
    "systemdlint": {},                             # no MemoryMax/Restart rule
}

labels = {}  # (path, line) -> rules
files = []
for d, _, fs in os.walk(CORPUS):
    for f in fs:
        p = os.path.join(d, f)
        files.append(p)
        lines = open(p, encoding="utf-8").read().split("\n")
        for i, line in enumerate(lines):
            m = re.search(r"expect(-next)?: ([a-z, -]+)", line)
            if not m:
                continue
            target = i + 1
            if m.group(1):
                target = next(j for j in range(i + 1, len(lines)) if not lines[j].lstrip().startswith("#")) + 1
            labels.setdefault((p, target), set()).update(r.strip() for r in m.group(2).split(",") if r.strip())
n_cases = sum(len(v) for v in labels.values())
clean_files = {p for p in files if not any(k[0] == p for k in labels)}


def rel(p):
    return os.path.realpath(os.path.join(CORPUS, p.lstrip("/")))


def flags():
    out = defaultdict(list)  # tool -> [(path, first, last, code)]
    for f in json.load(open(os.path.join(OUT, "leakwatch.json")))["findings"]:
        out["leakwatch"].append((os.path.realpath(f["path"]), f["line"], f["line"], f["rule"]))
    try:
        reports = json.load(open(os.path.join(OUT, "checkov.json")))
        for r in reports if isinstance(reports, list) else [reports]:
            for c in r["results"]["failed_checks"]:
                a, b = c["file_line_range"]
                out["checkov"].append((rel(c["file_path"]), a, b, c["check_id"]))
    except (OSError, ValueError, KeyError):
        pass
    try:
        for m in json.load(open(os.path.join(OUT, "hadolint.json"))):
            out["hadolint"].append((rel(m["file"]), m["line"], m["line"], m["code"]))
    except (OSError, ValueError):
        pass
    try:
        for m in json.load(open(os.path.join(OUT, "compose-lint.json")))["findings"]:
            code = m["rule_id"]
            if code == "CL-0026" and "memory limit" in m["message"]:
                code = "CL-0026/memory"
            out["compose-lint"].append((rel(m["file"]), m["line"], m["line"], code))
    except (OSError, ValueError):
        pass
    try:
        for fr in json.load(open(os.path.join(OUT, "dclint.json"))):
            for m in fr["messages"]:
                out["dclint"].append((rel(fr["filePath"]), m["line"], m["line"], m["rule"]))
    except (OSError, ValueError):
        pass
    for line in open(os.path.join(OUT, "systemdlint.txt")):
        m = re.match(r"(.+?):(\d+):\w+ \[([^\]]+)\]", line)
        if m:
            out["systemdlint"].append((os.path.realpath(m.group(1)), int(m.group(2)), int(m.group(2)), m.group(3)))
    return out


fl = flags()
print(f"labelled cases: {n_cases} in {len(files)} files ({len(clean_files)} files with none)")
print(f"{'tool':<13} {'caught':>6} {'recall':>7} {'FP':>4} {'clean files flagged':>20}  leak-related checks that fired")
caught_by = {}
for tool in ["leakwatch", "checkov", "hadolint", "compose-lint", "dclint", "systemdlint"]:
    caught, fp, fired, flagged_clean = set(), 0, defaultdict(int), set()
    for path, a, b, code in fl.get(tool, []):
        ours = [code] if tool == "leakwatch" else MAPPING[tool].get(code)
        if not ours:
            continue
        fired[code] += 1
        hit = {(path, line, r) for (p, line), rs in labels.items() if p == path and a <= line <= b for r in rs & set(ours)}
        if hit:
            caught |= hit
        else:
            fp += 1
            if path in clean_files:
                flagged_clean.add(path)
    caught_by[tool] = caught
    codes = "(all rules)" if tool == "leakwatch" else ", ".join(f"{c}x{n}" for c, n in sorted(fired.items())) or "-"
    print(f"{tool:<13} {len(caught):>6} {len(caught)/max(n_cases,1):>7.3f} {fp:>4} {len(flagged_clean):>20}  {codes}")
anchors = set().union(*(v for k, v in caught_by.items() if k != "leakwatch"))
print(f"\nall anchors together: {len(anchors)} of {n_cases} ({len(anchors)/max(n_cases,1):.3f})")
print(f"cases an anchor catches that leakwatch misses: {len(anchors - caught_by['leakwatch'])}")
by_rule = defaultdict(lambda: [0, 0])
for (p, line), rs in labels.items():
    for r in rs:
        by_rule[r][0] += 1
        if (p, line, r) in anchors:
            by_rule[r][1] += 1
print("per rule, cases / caught by any anchor:")
for r, (n, c) in sorted(by_rule.items()):
    print(f"  {r:<22} {n:>3} {c:>3}")

#!/usr/bin/env python3
"""The same lint tool turned into a watcher: it re-lints every minute for as
long as it runs, and each pass adds to the module-level tables."""
import os
import sys
import time

declared_spellings = {}
unit_types = []


def sanity_check(fn):
    with open(fn) as f:
        for line in f:
            if line.startswith("#spell "):
                declared_spellings[(fn, os.path.getmtime(fn))] = line.split()[1:]  # expect: global-accumulator
            elif line.startswith("[unit_type]"):
                unit_types.append(fn)  # expect: global-accumulator


if __name__ == "__main__":
    while True:
        for fn in sys.argv[1:]:
            sanity_check(fn)
        if os.path.exists("/run/lint.stop"):
            break
        time.sleep(60)

#!/usr/bin/env python3
"""A lint tool run once over the directories it is given (wmllint's shape):
its module-level tables end with the run. Its only endless loop walks up a
directory tree until a test breaks it, so it serves nothing."""
import os
import sys

declared_spellings = {}
unit_types = []


def is_root(path):
    return os.path.dirname(path) == path


def local_spellings(fn):
    words = []
    up = fn
    while True:
        if not up or is_root(up):
            break
        words += declared_spellings.get(up, [])
        up = os.path.dirname(up)
    return words


def sanity_check(fn):
    with open(fn) as f:
        for line in f:
            if line.startswith("#spell "):
                declared_spellings[os.path.dirname(fn)] = line.split()[1:]
            elif line.startswith("[unit_type]"):
                unit_types.append(fn)
    return local_spellings(fn)


if __name__ == "__main__":
    for fn in sys.argv[1:]:
        print(fn, sanity_check(fn))

#!/usr/bin/env python3
"""Draws the population a held-out set of bench/check/heldout_ruby_php.sh is
taken from, so that a set can be rebuilt and a new one drawn the same way.

The population of sets 26-32: Debian bookworm main packages (Contents-amd64
and Contents-all) that ship a file with one of the extensions outside
/usr/share/doc, whose names are not those of the languages' libraries or
interpreters, minus every package name already in heldout_ruby_php.sh or
realworld.sh (at the commit before the first set drawn from it).

The population of sets 33 and up (--new-libraries): the Ruby and PHP
libraries new in Debian 13 (trixie main): ruby-* and php-* packages that
ship a file with one of the extensions outside /usr/share/doc and that
bookworm's Contents do not name at all (so none of their code was in any
earlier set, not even an older version), minus every name already in the
two scripts. The population of sets 35 and 36 (--new-others): the same, for the
packages that are neither such libraries nor the interpreters (applications,
plugins and tools new in trixie that carry Ruby or PHP), leaving out
packages renamed from a bookworm one for a new version or ABI.

usage: bench/check/population.py [--ext rb php] [--contents DIR]
                                 [--new-libraries | --new-others
                                  --old-contents [SUITE:]DIR...
                                  [--suite SUITE]]
                                 [--seed SEED --take N]
  --contents DIR  where Contents-amd64.gz and Contents-all.gz are (fetched
                  from deb.debian.org into DIR when missing): bookworm's,
                  or with --new-libraries trixie's
  --old-contents [SUITE:]DIR...  the Contents of the older suites (SUITE:
                  bookworm when not given), with --new-libraries or
                  --new-others: a package any of them names is not new
  --suite SUITE   the newer suite, with --new-libraries or --new-others:
                  trixie (sets 33-36), sid (sets 37 and 38, new in
                  unstable since trixie: --old-contents
                  bookworm:DIR trixie:DIR) or experimental (set 39:
                  --old-contents bookworm:DIR trixie:DIR sid:DIR)
  --seed, --take  print the first N of the population shuffled with
                  random.Random(SEED) (sorted first), as each set was drawn:
                  run at the commit before the set was added, the names of
                  earlier sets are already left out (set 26: run at
                  c439860^ with --seed set26files --take 30)
Prints one package name per line. With --ext rb php at the current commit
it prints nothing: sets 26-32 used the population up.
"""
import argparse
import gzip
import os
import random
import re
import sys
import urllib.request

MIRROR = "https://deb.debian.org/debian/dists/{suite}/main/"
# Libraries and interpreters of the languages themselves: the population is
# code that carries Ruby or PHP without being it.
LIBRARY_PREFIXES = ("ruby-", "php-", "php8", "libapache2-mod-php", "libruby")
INTERPRETERS = {"ruby", "ruby3.1", "php", "php8.2"}


def contents(directory, suite="bookworm"):
    for name in ("Contents-amd64.gz", "Contents-all.gz"):
        path = os.path.join(directory, name)
        if not os.path.exists(path):
            urllib.request.urlretrieve(MIRROR.format(suite=suite) + name, path)
        with gzip.open(path, "rt", errors="replace") as f:
            yield from f


def renamed(name):
    """A package name with its version numbers and ABI suffix blanked."""
    return re.sub(r"[0-9]+", "#", re.sub(r"t64$", "", name))


def used_names(root):
    """Every package-like word in the held-out and real-world scripts."""
    names = set()
    for script in ("heldout_ruby_php.sh", "realworld.sh"):
        with open(os.path.join(root, script)) as f:
            names.update(re.findall(r"[a-z0-9][a-z0-9.+-]+", f.read()))
    return names


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ext", nargs="+", default=["rb", "php"])
    ap.add_argument("--contents", default="/tmp")
    ap.add_argument("--new-libraries", action="store_true")
    ap.add_argument("--new-others", action="store_true")
    ap.add_argument("--old-contents", nargs="+", default=[])
    ap.add_argument("--suite", default="trixie")
    ap.add_argument("--seed")
    ap.add_argument("--take", type=int)
    args = ap.parse_args()
    suffixes = tuple("." + e for e in args.ext)
    new_suite = args.new_libraries or args.new_others
    if new_suite and not args.old_contents:
        ap.error("--new-libraries and --new-others need --old-contents (bookworm's Contents)")
    old_packages = set()
    for old in args.old_contents:
        old_suite, _, old_dir = old.rpartition(":")
        for line in contents(old_dir, old_suite or "bookworm"):
            _, _, where = line.rstrip("\n").rpartition(" ")
            for section_pkg in where.split(","):
                old_packages.add(section_pkg.rsplit("/", 1)[-1])
    # A package renamed for a new version or ABI (wesnoth-1.16-tools ->
    # wesnoth-1.18-tools, libgroonga0 -> libgroonga0t64) is not new code.
    old_renamed = {renamed(p) for p in old_packages}
    packages = set()
    suite = args.suite if new_suite else "bookworm"
    for line in contents(args.contents, suite):
        path, _, where = line.rstrip("\n").rpartition(" ")
        path = path.strip()
        if not path.endswith(suffixes) or path.startswith("usr/share/doc/"):
            continue
        for section_pkg in where.split(","):
            packages.add(section_pkg.rsplit("/", 1)[-1])
    here = os.path.dirname(os.path.abspath(__file__))
    used = used_names(here)
    if args.new_libraries:
        population = sorted(
            p
            for p in packages
            if p.startswith(("ruby-", "php-"))
            and p not in old_packages
            and p not in used
            # From sid on, a library renamed for a new major version
            # (php-phpseclib3 -> php-phpseclib4) is not new code either;
            # sets 33 and 34 (trixie) were drawn without this test.
            and (args.suite == "trixie" or renamed(p) not in old_renamed)
        )
    elif args.new_others:
        population = sorted(
            p
            for p in packages
            if not p.startswith(LIBRARY_PREFIXES)
            and p not in INTERPRETERS
            and not re.fullmatch(r"(ruby|php)[0-9.]+", p)
            and p not in old_packages
            and renamed(p) not in old_renamed
            and p not in used
        )
    else:
        population = sorted(
            p
            for p in packages
            if not p.startswith(LIBRARY_PREFIXES) and p not in INTERPRETERS and p not in used
        )
    if args.seed is not None:
        random.Random(args.seed).shuffle(population)
        population = population[: args.take]
    sys.stdout.write("".join(p + "\n" for p in population))


if __name__ == "__main__":
    main()

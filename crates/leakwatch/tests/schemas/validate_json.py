"""Validates a JSON document against a JSON schema, formats included.

Usage: validate_json.py SCHEMA DOCUMENT
Exits 0 when valid; prints every error and exits 1 otherwise. Fails (exit 3)
when the format checkers for URIs are not active (the `rfc3987` package),
so a missing package can never make an invalid URI pass.
"""
import json
import sys

import jsonschema

schema = json.load(open(sys.argv[1], encoding="utf-8"))
doc = json.load(open(sys.argv[2], encoding="utf-8"))
cls = jsonschema.validators.validator_for(schema)
checker = cls.FORMAT_CHECKER
for fmt in ("uri", "uri-reference"):
    if fmt not in checker.checkers:
        print(f"format checker for {fmt} is not available: pip install rfc3987", file=sys.stderr)
        sys.exit(3)
errors = sorted(cls(schema, format_checker=checker).iter_errors(doc), key=lambda e: list(e.path))
for e in errors:
    print(f"{'/'.join(map(str, e.path))}: {e.message}")
sys.exit(1 if errors else 0)

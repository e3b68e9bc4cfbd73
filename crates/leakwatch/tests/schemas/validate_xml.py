"""Validates an XML document against an XML schema (XSD 1.0).

Usage: validate_xml.py SCHEMA DOCUMENT
Exits 0 when valid; prints the reasons and exits 1 otherwise.
"""
import sys

import xmlschema

schema = xmlschema.XMLSchema(sys.argv[1])
errors = list(schema.iter_errors(sys.argv[2]))
for e in errors:
    print(f"{e.path}: {e.reason}")
sys.exit(1 if errors else 0)

"""Validate a JSON document against a JSON Schema (draft 2020-12); print the first error and exit 1 if invalid."""
import json
import sys

import jsonschema

schema_path, document_path = sys.argv[1], sys.argv[2]
with open(schema_path) as f:
    schema = json.load(f)
with open(document_path) as f:
    document = json.load(f)
jsonschema.Draft202012Validator.check_schema(schema)
errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(document), key=lambda e: list(e.path))
if errors:
    error = errors[0]
    print(f"{'/'.join(map(str, error.path)) or '<root>'}: {error.message}")
    sys.exit(1)

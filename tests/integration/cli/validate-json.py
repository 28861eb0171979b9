#!/usr/bin/env python3
"""Validate JSON from stdin against one of hvvssctl's JSON schemas (stdlib only).

    validate-json.py SCHEMA.json [--lines]

Supports the subset of JSON Schema 2020-12 the schemas use: $ref (to
another file of the schema directory or within one), type (with lists and
null), enum, required, properties, additionalProperties false, items,
anyOf, minimum. With --lines every non-empty input line is one document
(hvvssctl test-freeze --json). Exit 0 valid, 1 invalid (each problem named
with its JSON path), 2 usage or unreadable input.
"""
import json
import os
import sys

TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


class Validator:
    def __init__(self, directory):
        self.directory = directory
        self.files = {}
        self.errors = []

    def load(self, name):
        if name not in self.files:
            with open(os.path.join(self.directory, name)) as f:
                self.files[name] = json.load(f)
        return self.files[name]

    def resolve(self, ref, current):
        name, _, pointer = ref.partition("#")
        if name:
            current = name
        node = self.load(current)
        for part in [p for p in pointer.split("/") if p]:
            node = node[part]
        return node, current

    def check(self, schema, value, path, current):
        if "$ref" in schema:
            target, where = self.resolve(schema["$ref"], current)
            self.check(target, value, path, where)
        if "anyOf" in schema:
            saved = self.errors
            ok = False
            for sub in schema["anyOf"]:
                self.errors = []
                self.check(sub, value, path, current)
                if not self.errors:
                    ok = True
                    break
            self.errors = saved
            if not ok:
                self.errors.append(f"{path}: matches none of anyOf")
        if "type" in schema:
            types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            if not any(TYPES[t](value) for t in types):
                self.errors.append(f"{path}: {json.dumps(value)[:60]} is not of type {'/'.join(types)}")
                return
        if "enum" in schema and value not in schema["enum"]:
            self.errors.append(f"{path}: {json.dumps(value)} is not one of {schema['enum']}")
        if "minimum" in schema and TYPES["number"](value) and value < schema["minimum"]:
            self.errors.append(f"{path}: {value} is below {schema['minimum']}")
        if isinstance(value, dict):
            props = schema.get("properties", {})
            for key in schema.get("required", []):
                if key not in value:
                    self.errors.append(f"{path}: missing required field '{key}'")
            for key, sub in value.items():
                if key in props:
                    self.check(props[key], sub, f"{path}.{key}", current)
                elif schema.get("additionalProperties") is False:
                    self.errors.append(f"{path}: field '{key}' is not in the schema")
        if isinstance(value, list) and "items" in schema:
            for i, item in enumerate(value):
                self.check(schema["items"], item, f"{path}[{i}]", current)


def main():
    args = [a for a in sys.argv[1:] if a != "--lines"]
    if len(args) != 1:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    lines = "--lines" in sys.argv[1:]
    directory, name = os.path.split(os.path.abspath(args[0]))
    v = Validator(directory)
    schema = v.load(name)
    text = sys.stdin.read()
    docs = [l for l in text.splitlines() if l.strip()] if lines else [text]
    if not docs:
        print(f"validate-json: no input to check against {name}", file=sys.stderr)
        return 1
    for n, doc in enumerate(docs, 1):
        try:
            value = json.loads(doc)
        except json.JSONDecodeError as e:
            print(f"validate-json: {name}: document {n} is not JSON: {e}", file=sys.stderr)
            return 1
        v.check(schema, value, "$", name)
    for e in v.errors:
        print(f"validate-json: {name}: {e}", file=sys.stderr)
    return 1 if v.errors else 0


if __name__ == "__main__":
    sys.exit(main())

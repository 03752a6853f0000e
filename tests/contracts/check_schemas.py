#!/usr/bin/env python3
"""Checks the message corpus against schemas/*.json (JSON Schema draft 2020-12).

tests/contracts/<schema>/valid/*.json must pass and invalid/*.json must fail. Before the schema
runs, the bytes go through the same parse rules as the C decoder (common/bf_json_check.c): at most
2 MiB, strict UTF-8, no NUL bytes or \\u0000, nesting at most 32, no duplicate keys, no NaN/Infinity;
a file that breaks them counts as rejected. An invalid file whose .expect has a line
"schema: pass" holds a rule JSON Schema cannot state (e.g. two fields that must be equal): it must
pass the schema, and the C test rejects it. Usage: check_schemas.py [source dir]. Exit 0 when all hold.
"""
import json
import pathlib
import sys

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

MAX_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 32


class Reject(Exception):
    pass


def no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise Reject("duplicate key")
    return dict(pairs)


def bad_constant(name):
    raise Reject("non-JSON constant " + name)


def depth_ok(raw):
    depth, in_str, esc = 0, False, False
    for ch in raw:
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return False
        elif ch in "]}":
            depth -= 1
    return True


def parse(data):
    """Mirrors bf_json_parse: returns the document or raises Reject."""
    if not data or len(data) > MAX_BYTES:
        raise Reject("size")
    try:
        text = data.decode("utf-8", errors="strict")
    except UnicodeDecodeError as e:
        raise Reject("invalid UTF-8") from e
    if "\0" in text or "\\u0000" in text:
        raise Reject("NUL")
    if not depth_ok(text):
        raise Reject("nesting")
    try:
        return json.loads(text, object_pairs_hook=no_duplicates, parse_constant=bad_constant)
    except ValueError as e:
        raise Reject(str(e)) from e


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parents[2])
    schema_dir = root / "schemas"
    corpus = root / "tests" / "contracts"
    docs = {p.stem: json.loads(p.read_text()) for p in schema_dir.glob("*.json")}
    registry = Registry().with_resources(
        (d["$id"], Resource.from_contents(d)) for d in docs.values())
    failures, checked = [], 0
    for name, doc in sorted(docs.items()):
        if name == "common":
            continue
        Draft202012Validator.check_schema(doc)
        validator = Draft202012Validator(doc, registry=registry, format_checker=FormatChecker())
        for kind in ("valid", "invalid"):
            files = sorted((corpus / name / kind).glob("*.json"))
            if kind == "valid" and not files:
                failures.append(f"{name}: no valid examples")
            for f in files:
                checked += 1
                expect = f.with_suffix(".expect")
                schema_passes = kind == "invalid" and expect.exists() and \
                    "schema: pass" in expect.read_text().splitlines()[1:]
                try:
                    errors = list(validator.iter_errors(parse(f.read_bytes())))
                    why = "; ".join(f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:160]}"
                                    for e in errors[:3])
                except Reject as e:
                    errors, why = [e], f"parse: {e}"
                rel = f.relative_to(root)
                if kind == "valid" and errors:
                    failures.append(f"{rel}: should pass, fails: {why}")
                elif kind == "invalid" and schema_passes and errors:
                    failures.append(f"{rel}: marked 'schema: pass' but fails: {why}")
                elif kind == "invalid" and not schema_passes and not errors:
                    failures.append(f"{rel}: should fail the schema, passes")
    for line in failures:
        print("FAIL", line)
    print(f"{checked} examples checked, {len(failures)} failures")
    return 1 if failures or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())

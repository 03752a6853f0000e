#!/usr/bin/env python3
"""Extracts the chat-completions schemas from OpenAI's published OpenAPI description into the JSON
Schema file the fake server checks requests against (tests/fakes/openai/chat_completions.schema.json,
compiled into fake_openai; no test reads the spec itself).

    tests/fakes/openai/extract.py PATH/TO/openai-openapi.yaml [SOURCE]

SOURCE names the spec's version in the output's $comment (e.g. "commit f85dbe22, 2026-08-21").

Keeps CreateChatCompletionRequest and CreateChatCompletionResponse with everything they reference,
as $defs; drops what only documents (description, title, examples, x-* ...); turns OpenAPI's
`nullable: true` into JSON Schema's null type. The spec is MIT-licensed (LICENSE beside this file).
"""
import json
import os
import sys

import yaml

ROOTS = ["CreateChatCompletionRequest", "CreateChatCompletionResponse"]
DROP = {"description", "title", "example", "examples", "default", "deprecated", "discriminator", "format",
        "readOnly", "writeOnly", "externalDocs"}


def clean(node):
    if isinstance(node, list):
        return [clean(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for k, v in node.items():
        if k in DROP or k.startswith("x-"):
            continue
        if k == "$ref":
            out[k] = "#/$defs/" + v.split("/")[-1]
        elif k in ("properties", "$defs"):
            out[k] = {name: clean(s) for name, s in v.items()}
        elif k in ("enum", "required", "const"):
            out[k] = v
        else:
            out[k] = clean(v)
    if out.pop("nullable", False):
        t = out.get("type")
        if isinstance(t, str):
            out["type"] = [t, "null"]
        elif isinstance(t, list):
            out["type"] = t + ["null"]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
        if "enum" in out and None not in out["enum"]:
            out["enum"] = out["enum"] + [None]
    return out


def refs(node, found):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref":
                found.add(v.split("/")[-1])
            refs(v, found)
    elif isinstance(node, list):
        for x in node:
            refs(x, found)


def main():
    spec = yaml.safe_load(open(sys.argv[1]))
    schemas = spec["components"]["schemas"]
    todo, seen = list(ROOTS), set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        found = set()
        refs(schemas[name], found)
        todo.extend(sorted(found - seen))
    doc = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$comment": "Extracted by tests/fakes/openai/extract.py from OpenAI's OpenAPI description "
                    "(github.com/openai/openai-openapi, " +
                    (sys.argv[2] if len(sys.argv) > 2 else "version " + str(spec.get("info", {}).get("version", "?"))) +
                    "). Copyright (c) OpenAI, MIT licence: tests/fakes/openai/LICENSE. Do not edit; re-extract.",
        "$ref": "#/$defs/CreateChatCompletionRequest",
        "$defs": {name: clean(schemas[name]) for name in sorted(seen)},
    }
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "chat_completions.schema.json")
    with open(out, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=False)
        f.write("\n")
    print(f"{out}: {len(seen)} schemas")


if __name__ == "__main__":
    main()

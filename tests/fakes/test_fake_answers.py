#!/usr/bin/env python3
"""fake_openai's request check and answer kinds.

    test_fake_answers.py PATH/TO/fake_openai PATH/TO/tests/fakes/openai/chat_completions.schema.json

Checks: a request that breaks OpenAI's CreateChatCompletionRequest gets a 400 naming the problem
(and --no-request-check accepts it); every answer kind, in tools mode and JSON mode, is a valid
CreateChatCompletionResponse (checked here with the jsonschema package against the same extracted
schema) shaped as --help says; the repair round is recognised and --repair-answer applies to it;
--answer-mix gives its shares (wide bands: 500 requests, seed fixed) and /_fake/answers counts them.
"""
import json
import subprocess
import sys
import urllib.error
import urllib.request

sys.dont_write_bytecode = True  # importing fakelib must leave no __pycache__ in the source tree
from fakelib import check, finish, stats, stop  # noqa: E402
from fakelib import start as start_fake  # noqa: E402

from jsonschema import Draft202012Validator

FAKE, SCHEMA = sys.argv[1], sys.argv[2]
schema = json.load(open(SCHEMA))
response_check = Draft202012Validator({**schema, "$ref": "#/$defs/CreateChatCompletionResponse"})




def post(url, body, headers=None):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(url + "/v1/chat/completions", data=data, method="POST",
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")



TOOLS = [{"type": "function", "function": {"name": "addScene", "description": "d",
                                           "parameters": {"type": "object", "properties": {}}}}]
TOOLS_REQ = {"model": "m", "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}],
             "tools": TOOLS, "tool_choice": "required", "max_tokens": 100}
JSON_REQ = {"model": "m", "messages": [{"role": "user", "content": "u"}], "response_format": {"type": "json_object"}}

# --- the request check --------------------------------------------------------------------------
fake, url = start_fake(FAKE)
try:
    for bad, says in [({"messages": [{"role": "user", "content": "x"}]}, 'missing required property "model"'),
                      ({"model": "m", "messages": []}, "request.messages: has 0 items"),
                      ({**TOOLS_REQ, "tool_choice": "always"}, "request.tool_choice"),
                      ({**TOOLS_REQ, "temperature": 7}, "request.temperature: 7 is above the maximum 2"),
                      ({"model": "m", "messages": [{"role": "tool", "content": "x"}]}, "tool_call_id"),
                      (b"{not json", "not JSON")]:
        status, body = post(url, bad)
        msg = (body or {}).get("error", {}).get("message", "")
        check(status == 400 and says in msg, f"bad request {bad!r}: {status} {msg!r}, expected 400 with {says!r}")
        check((body or {}).get("error", {}).get("type") == "invalid_request_error", "OpenAI's error type")
    status, _ = post(url, TOOLS_REQ)
    check(status == 200, f"a valid request is answered: {status}")
    check(stats(url, "answers")["schema_rejections"] == 6, f"rejections counted: {stats(url, 'answers')}")
finally:
    stop(fake)
fake, url = start_fake(FAKE, "--no-request-check")
try:
    check(post(url, {"messages": []})[0] == 200, "--no-request-check accepts any body")
finally:
    stop(fake)


# --- answer kinds -------------------------------------------------------------------------------
def message(body):
    return body["choices"][0]["message"], body["choices"][0]["finish_reason"]


def calls(msg):
    return [(c["function"]["name"], c["function"]["arguments"]) for c in msg.get("tool_calls") or []]


def parses(text):
    try:
        json.loads(text)
        return True
    except ValueError:
        return False


fake, url = start_fake(FAKE)
try:
    expect_tools = {
        "auto": lambda m, f: calls(m)[0][0] == "addScene" and parses(calls(m)[0][1]) and f == "tool_calls",
        "tool": lambda m, f: calls(m)[0][0] == "addScene" and m["content"] is None,
        "wrong-arg-type": lambda m, f: json.loads(calls(m)[0][1])["duration_ms"] == "5000",
        "invented-image": lambda m, f: "invented.example.com" in json.loads(calls(m)[0][1])["image_url"],
        "unknown-scene": lambda m, f: json.loads(calls(m)[0][1])["scene_id"] == "no-such-scene",
        "two-calls": lambda m, f: len(calls(m)) == 2 and all(parses(a) for _, a in calls(m)),
        "refusal": lambda m, f: m["refusal"] and m["content"] is None and not calls(m),
        "length": lambda m, f: f == "length" and not parses(calls(m)[0][1]),
        "content-and-calls": lambda m, f: "deleteScene" in m["content"] and calls(m)[0][0] == "addScene",
        "args-not-json": lambda m, f: not parses(calls(m)[0][1]),
        "unknown-tool": lambda m, f: calls(m)[0][0] == "launchRocket",
        "text": lambda m, f: m["content"].startswith("Sure") and not calls(m),
        "content": lambda m, f: m["content"] == '{"ok":true}' and not calls(m),
    }
    for kind, ok in expect_tools.items():
        status, body = post(url, TOOLS_REQ, {"X-Fake-Answer": kind})
        errors = [e.message[:160] for e in response_check.iter_errors(body)] if status == 200 else ["status"]
        check(not errors, f"tools/{kind}: not a valid CreateChatCompletionResponse: {errors}")
        if status == 200:
            m, f = message(body)
            check(ok(m, f), f"tools/{kind}: unexpected answer {json.dumps(m)[:300]} finish {f}")
    expect_json = {
        "auto": lambda m, f: m["content"] == '{"ok":true}',
        "tool": lambda m, f: json.loads(m["content"])["tool"] == "addScene",
        "two-calls": lambda m, f: len(json.loads(m["content"])["calls"]) == 2,
        "length": lambda m, f: f == "length" and not parses(m["content"]),
        "args-not-json": lambda m, f: not parses(m["content"]),
        "unknown-scene": lambda m, f: json.loads(m["content"])["arguments"]["scene_id"] == "no-such-scene",
        "refusal": lambda m, f: bool(m["refusal"]),
    }
    for kind, ok in expect_json.items():
        status, body = post(url, JSON_REQ, {"X-Fake-Answer": kind})
        errors = [e.message[:160] for e in response_check.iter_errors(body)] if status == 200 else ["status"]
        check(not errors, f"json/{kind}: not a valid CreateChatCompletionResponse: {errors}")
        if status == 200:
            m, f = message(body)
            check(ok(m, f), f"json/{kind}: unexpected answer {json.dumps(m)[:300]} finish {f}")
    custom = json.dumps([{"name": "deleteScene", "arguments": {"scene_id": "s2", "summary": "x"}}])
    status, body = post(url, TOOLS_REQ, {"X-Fake-Tool-Calls": custom})
    check(calls(message(body)[0]) == [("deleteScene", '{"scene_id":"s2","summary":"x"}')], "X-Fake-Tool-Calls")
finally:
    stop(fake)

# --- the repair round ---------------------------------------------------------------------------
REPAIR_REQ = {**TOOLS_REQ, "messages": TOOLS_REQ["messages"] + [
    {"role": "assistant", "content": None,
     "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "addScene", "arguments": "{}"}}]},
    {"role": "tool", "tool_call_id": "c1", "content": "arguments: missing required property \"instruction\""}]}
fake, url = start_fake(FAKE, "--answer", "unknown-scene", "--repair-answer", "tool")
try:
    first = message(post(url, TOOLS_REQ)[1])[0]
    second = message(post(url, REPAIR_REQ)[1])[0]
    check(calls(first)[0][0] == "editScene", f"first answer as --answer: {first}")
    check(calls(second)[0][0] == "addScene", f"repair answered as --repair-answer: {second}")
    s = stats(url, "answers")
    check(s["repair_requests"] == 1, f"one repair request counted: {s}")
    check(s["answers"]["unknown-scene"] == 1 and s["answers"]["tool"] == 1, f"answers counted: {s['answers']}")
finally:
    stop(fake)

# --- the answer mix -----------------------------------------------------------------------------
for bad, says in [("nonsense=0.1", "not an answer kind"), ("auto=0.1", "not an answer kind"),
                  ("refusal=2", "expected a share"), ("refusal=0.6,length=0.6", "more than 1")]:
    p = subprocess.run([FAKE, "--answer-mix", bad], capture_output=True, text=True, timeout=10)
    check(p.returncode == 2 and says in p.stderr, f"--answer-mix {bad!r}: exit {p.returncode}, {p.stderr!r}")
fake, url = start_fake(FAKE, "--answer-mix", "wrong-arg-type=0.05,unknown-scene=0.05,refusal=0.05,length=0.05",
                       "--seed", "7")
try:
    n = 500
    kinds = {}
    for i in range(n):
        status, body = post(url, TOOLS_REQ)
        m, f = message(body)
        key = "refusal" if m.get("refusal") else "length" if f == "length" else \
            json.loads(calls(m)[0][1]).get("scene_id") == "no-such-scene" and "unknown-scene" or \
            isinstance(json.loads(calls(m)[0][1]).get("duration_ms"), str) and "wrong-arg-type" or "tool"
        kinds[key] = kinds.get(key, 0) + 1
    print("mix:", kinds)
    broken = n - kinds.get("tool", 0)
    check(0.13 * n <= broken <= 0.27 * n, f"about 20 % broken: {broken}/{n}")
    for k in ("wrong-arg-type", "unknown-scene", "refusal", "length"):
        check(0.02 * n <= kinds.get(k, 0) <= 0.09 * n, f"{k} about 5 %: {kinds.get(k, 0)}")
    s = stats(url, "answers")["answers"]
    check(all(s[k] == kinds.get(k, 0) for k in ("wrong-arg-type", "unknown-scene", "refusal", "length")),
          f"stats agree: {s} vs {kinds}")
finally:
    stop(fake)

help_text = subprocess.run([FAKE, "--help"], capture_output=True, text=True, timeout=10).stdout
for flag in ("--answer KIND", "--answer-mix", "--repair-answer", "--tool-calls", "--no-request-check", "X-Fake-Answer",
             "/_fake/answers"):
    check(flag in help_text, f"--help documents {flag}")

finish()

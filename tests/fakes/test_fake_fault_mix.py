#!/usr/bin/env python3
"""fake_openai --fault-mix and --hold-ms, and the retry counters of /_fake/stats.

    test_fake_fault_mix.py PATH/TO/fake_openai

Checks: bad --fault-mix values are refused (exit 2, a message naming the value); with a mix the
answers are 429 (with Retry-After), 500, or no answer at all (the connection is closed after
--hold-ms), in the shares asked for (wide bands: 400 requests, seed fixed); /_fake/stats counts
them per mode; the same body sent again right after a 429 counts as an early retry, and after
its Retry-After as a retry in time.
"""
import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

sys.dont_write_bytecode = True  # importing fakelib must leave no __pycache__ in the source tree
from fakelib import check, finish, stats, stop  # noqa: E402
from fakelib import start as start_fake  # noqa: E402

FAKE = sys.argv[1]



# --- validation --------------------------------------------------------------------------------
for bad, says in [("429=0.1,500=x", "expected a share in 0..1"), ("429=1.5", "expected a share in 0..1"),
                  ("ok=0.1", "not a failure mode"), ("nonsense=0.1", "not a failure mode"),
                  ("429", "expected MODE=SHARE"), ("429=0.1,429=0.2", "given twice"),
                  ("429=0.6,500=0.6", "more than 1"), ("", "empty")]:
    p = subprocess.run([FAKE, "--fault-mix", bad], capture_output=True, text=True, timeout=10)
    check(p.returncode == 2 and says in p.stderr, f"--fault-mix {bad!r}: exit {p.returncode}, stderr {p.stderr!r}")
p = subprocess.run([FAKE, "--error-rate", "0.1", "--fault-mix", "429=0.1"], capture_output=True, text=True, timeout=10)
check(p.returncode == 2 and "together" in p.stderr, f"--error-rate with --fault-mix refused: {p.returncode} {p.stderr!r}")
help_text = subprocess.run([FAKE, "--help"], capture_output=True, text=True, timeout=10).stdout
check("--fault-mix" in help_text and "--hold-ms" in help_text, "--help documents --fault-mix and --hold-ms")



def post(url, body, headers=None, timeout=10):
    """(status, Retry-After) or (None, error text) when no answer came."""
    req = urllib.request.Request(url + "/v1/chat/completions", data=body.encode(), method="POST",
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            r.read()
            return r.status, r.headers.get("Retry-After")
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Retry-After")
    except Exception as e:  # closed without an answer
        return None, str(e)



# --- the mix -----------------------------------------------------------------------------------
N = 400
fake, url = start_fake(FAKE, "--fault-mix", "429=0.2,500=0.2,timeout=0.2", "--hold-ms", "300", "--seed", "7",
                  "--retry-after", "1")
try:
    results = [None] * N
    held = []

    def one(i):
        t0 = time.monotonic()
        results[i] = post(url, json.dumps({"model": "m", "messages": [{"role": "user", "content": f"r{i}"}]}))
        if results[i][0] is None:
            held.append(time.monotonic() - t0)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(N)]
    for k in range(0, N, 50):  # 50 at a time
        for t in threads[k:k + 50]:
            t.start()
        for t in threads[k:k + 50]:
            t.join()
    got = {s: sum(1 for r in results if r[0] == s) for s in (200, 429, 500, None)}
    print("answers:", got)
    for status, share in ((200, 0.4), (429, 0.2), (500, 0.2), (None, 0.2)):
        check(abs(got[status] - share * N) <= 0.1 * N, f"status {status}: {got[status]} of {N}, expected about {share * N:.0f}")
    check(got[200] + got[429] + got[500] + got[None] == N, "every request answered 200/429/500 or held")
    check(all(r[1] == "1" for r in results if r[0] == 429), "every 429 carries Retry-After: 1")
    check(held and min(held) >= 0.25, f"timeouts held about --hold-ms before closing (shortest {min(held or [0]):.3f} s)")
    s = stats(url)
    print("stats:", s)
    check(s["modes"]["ok"] == got[200] and s["modes"]["429"] == got[429] and s["modes"]["500"] == got[500]
          and s["modes"]["timeout"] == got[None], "stats count the answers per mode")
finally:
    stop(fake)

# --- retries after a 429 -------------------------------------------------------------------------
fake, url = start_fake(FAKE, "--retry-after", "1")
try:
    s0 = stats(url)
    check(s0["retries_after_429"] == 0 and s0["min_gap_after_429_ms"] == -1, f"fresh counters: {s0}")
    a = json.dumps({"model": "m", "messages": [{"role": "user", "content": "a"}]})
    b = json.dumps({"model": "m", "messages": [{"role": "user", "content": "b"}]})
    check(post(url, a, {"X-Fake-Mode": "429"})[0] == 429, "X-Fake-Mode 429 answered 429")
    post(url, a)  # at once: sooner than Retry-After
    check(post(url, b, {"X-Fake-Mode": "429"})[0] == 429, "second 429")
    time.sleep(1.1)
    post(url, b)  # after Retry-After
    post(url, a)  # a again: its 429 was already retried, not a retry of it
    s = stats(url)
    print("stats:", s)
    check(s["retries_after_429"] == 2, f"two retries after a 429 seen: {s['retries_after_429']}")
    check(s["early_retries_after_429"] == 1, f"one of them early: {s['early_retries_after_429']}")
    check(0 <= s["min_gap_after_429_ms"] < 1000, f"min gap {s['min_gap_after_429_ms']} ms")
finally:
    stop(fake)

finish()

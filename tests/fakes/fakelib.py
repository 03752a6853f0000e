"""What the fake_openai tests share: checks that collect failures, starting the fake on a free port,
its /_fake/stats and /_fake/answers."""
import json
import subprocess
import sys
import urllib.request

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def start(fake, *args):
    """Runs fake_openai --port 0 args...; returns (process, base URL)."""
    p = subprocess.Popen([fake, "--port", "0", *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = p.stdout.readline()
    if "listening" not in line:
        p.kill()
        sys.exit(f"fake did not start: {line!r}")
    return p, line.split()[-1]


def stop(p):
    p.terminate()
    p.wait(timeout=10)


def stats(url, what="stats"):
    with urllib.request.urlopen(url + "/_fake/" + what, timeout=10) as r:
        return json.loads(r.read())


def finish():
    print("FAIL" if failures else "PASS", f"({len(failures)} failed)")
    sys.exit(1 if failures else 0)

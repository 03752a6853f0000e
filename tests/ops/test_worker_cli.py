#!/usr/bin/env python3
"""The workers' command lines and start-up checks as an operator meets them (issue 19): unknown
arguments exit 2 with the usage and start nothing, --version on every binary, migrate --dry-run
honoured, a malformed PostgreSQL DSN and a duration without a unit are configuration errors
(exit 2 at once, not retries), and --help never prints numbers like 1.07374e+09.
Needs only the built binaries: nothing listens on the addresses given.

Usage: test_worker_cli.py BUILD_DIR"""
import os
import re
import subprocess
import sys

BUILD = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("BF_BUILD_DIR", "build/asan")
BIN = {w: os.path.join(BUILD, w, w) for w in ("brain-worker", "image-worker", "memory-writer")}
BIN["fleetctl"] = os.path.join(BUILD, "fleetctl", "fleetctl")
failures = []

# Nothing answers here: a worker that starts anyway would hang on the broker, so a short timeout
# tells "exited at once" from "started".
ENV = {k: v for k, v in os.environ.items() if not k.startswith("BRAINFLEET_")}
ENV.update(BRAINFLEET_KAFKA_BROKERS="127.0.0.1:1", BRAINFLEET_HTTP_PORT="0",
           BRAINFLEET_PG_DSN="host=127.0.0.1 port=1 connect_timeout=1")


def run(argv, env=None, timeout=10):
    e = dict(ENV)
    e.update(env or {})
    try:
        p = subprocess.run(argv, env=e, capture_output=True, text=True, timeout=timeout)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired:
        return None, "", "(still running after %ss: it started instead of refusing)" % timeout


def check(what, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)
        if detail:
            print("     " + detail.strip().replace("\n", "\n     ")[:800])


for w in ("brain-worker", "image-worker", "memory-writer"):
    rc, out, err = run([BIN[w], "--version"])
    check(f"{w} --version", rc == 0 and re.match(rf"^{w} \d+\.\d+\.\d+ \(revision \S+\)$", out.strip()), out + err)
    for bad in (["--verbose"], ["--migrate"], ["no-such-command"], ["--help-me"]):
        rc, out, err = run([BIN[w]] + bad, timeout=5)
        check(f"{w} {' '.join(bad)} exits 2 with the usage", rc == 2 and "Usage:" in err and bad[0] in err, err)
    rc, out, err = run([BIN[w]], env={"BRAINFLEET_PG_DSN": "hots=x"}, timeout=5)
    check(f"{w} with BRAINFLEET_PG_DSN='hots=x' exits 2 naming the variable",
          rc == 2 and "BRAINFLEET_PG_DSN" in err and "hots" in err, err)
    rc, out, err = run([BIN[w]], env={"BRAINFLEET_SHUTDOWN_TIMEOUT": "20"}, timeout=5)
    check(f"{w} with BRAINFLEET_SHUTDOWN_TIMEOUT=20 (no unit) exits 2", rc == 2 and "unit" in err, err)
    rc, out, err = run([BIN[w], "--help"])
    bad_numbers = re.findall(r"\S*\de[+-]\d+\S*", out)
    check(f"{w} --help prints human numbers", rc == 0 and not bad_numbers, " ".join(bad_numbers))

rc, out, err = run([BIN["memory-writer"], "run", "--dry-run"], timeout=5)
check("memory-writer run --dry-run is refused (only migrate takes it)", rc == 2, err)
rc, out, err = run([BIN["memory-writer"], "migrate", "--dry-run", "--force"], timeout=5)
check("memory-writer migrate --force is refused", rc == 2 and "--force" in err, err)
# --dry-run is honoured: against an unreachable database it fails to read, it never "applies".
rc, out, err = run([BIN["memory-writer"], "migrate", "--dry-run"], timeout=60)
check("memory-writer migrate --dry-run is honoured (reads, never applies)",
      rc == 1 and "dry-run" in err and "applied, database up to date" not in err, err)
rc, out, err = run([BIN["fleetctl"], "--version"])
check("fleetctl --version", rc == 0 and out.startswith("fleetctl "), out + err)

print(f"{len(failures)} failed" if failures else "all worker command-line checks hold")
sys.exit(1 if failures else 0)

#!/usr/bin/env python3
"""memory-writer against the stack's PostgreSQL (issue 19): in run mode, on a database the
migrations have not reached, it stays alive and not ready, consumes nothing (so nothing is
dead-lettered as db_rejected) and says what is pending; `migrate --dry-run` lists the pending
migrations and changes nothing; two `migrate` runs at once both succeed (advisory lock, the
init-container case); after that the waiting worker becomes ready by itself. /metrics meanwhile
carries brainfleet_build_info and the process_* family.

Usage: test_schema_gate.py BUILD_DIR   (BRAINFLEET_PG_DSN, BRAINFLEET_KAFKA_BROKERS: the stack)"""
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

BUILD = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("BF_BUILD_DIR", "build/asan")
MW = os.path.join(BUILD, "memory-writer", "memory-writer")
ADMIN_DSN = os.environ["BRAINFLEET_PG_DSN"]
failures = []


def check(what, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)
        if detail:
            print("     " + str(detail).strip().replace("\n", "\n     ")[:1500])


def psql(dsn, sql):
    return subprocess.run(["psql", dsn, "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", sql], capture_output=True,
                          text=True, check=True).stdout.strip()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError as e:
        return None, str(e)


db = "t_gate_" + secrets.token_hex(4)
psql(ADMIN_DSN, f"CREATE DATABASE {db}")
dsn = f"{ADMIN_DSN} dbname={db}"
port = free_port()
group = "gate-" + secrets.token_hex(4)
env = dict(os.environ, BRAINFLEET_PG_DSN=dsn, BRAINFLEET_HTTP_PORT=str(port), BRAINFLEET_HTTP_BIND="127.0.0.1",
           BRAINFLEET_GROUP_ID=group, BRAINFLEET_TOPIC_PREFIX="gate" + secrets.token_hex(3) + ".")
# The prefixed topics exist, so the stage can become ready once it starts.
SRC = os.environ.get("BF_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
subprocess.run([os.path.join(BUILD, "fleetctl", "fleetctl"), "topics", "ensure"], env=env, cwd=SRC, check=True,
               capture_output=True)
worker = subprocess.Popen([MW, "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
try:
    ready = health = None
    for _ in range(100):
        ready = get(port, "/readyz")
        if ready[0] is not None:
            break
        time.sleep(0.1)
    health = get(port, "/healthz")
    check("unmigrated database: /healthz 200", health[0] == 200, health)
    check("unmigrated database: /readyz 503 saying migrations are pending",
          ready[0] == 503 and "pending" in ready[1] and "migrate" in ready[1], ready)
    metrics = get(port, "/metrics")
    check("/metrics has brainfleet_build_info{worker=\"memory-writer\",...} 1",
          metrics[0] == 200 and 'brainfleet_build_info{worker="memory-writer",version="' in metrics[1], metrics[1][:400])
    for name in ("process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds",
                 "process_start_time_seconds"):
        check(f"/metrics has {name}", f"\n{name} " in metrics[1])
    tables = psql(dsn, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
    check("the waiting worker created nothing", tables == "0", tables)

    out = subprocess.run([MW, "migrate", "--dry-run"], env=env, capture_output=True, text=True, timeout=60)
    check("migrate --dry-run lists pending migrations, exit 0",
          out.returncode == 0 and re.search(r"^pending +0001 0001_tables$", out.stdout, re.M) and "nothing changed" in out.stdout,
          out.stdout + out.stderr)
    tables = psql(dsn, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' "
                       "AND table_name <> 'schema_migrations'")
    check("migrate --dry-run changed nothing", tables == "0", tables)

    # Two replicas' init containers at once: both succeed, each migration applied once.
    a = subprocess.Popen([MW, "migrate"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    b = subprocess.Popen([MW, "migrate"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ra, rb = a.wait(timeout=120), b.wait(timeout=120)
    check("two concurrent `migrate` runs both exit 0", ra == 0 and rb == 0, a.stderr.read() + b.stderr.read())
    n = psql(dsn, "SELECT count(*) FROM schema_migrations")
    out = subprocess.run([MW, "migrate", "--dry-run"], env=env, capture_output=True, text=True, timeout=60)
    check("after migrate: --dry-run reports 0 pending", "0 pending" in out.stdout and n != "0",
          out.stdout + out.stderr)

    # The waiting worker re-checks every 5 s and then starts its stage (its own HTTP endpoint).
    deadline = time.time() + 60
    ready = (None, "")
    while time.time() < deadline:
        ready = get(port, "/readyz")
        if ready[0] == 200 or worker.poll() is not None:
            break
        time.sleep(0.5)
    check("the waiting worker became ready once migrated", ready[0] == 200, ready)
finally:
    worker.terminate()
    try:
        _, err = worker.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        worker.kill()
        _, err = worker.communicate()
    if failures:
        print("worker log:\n" + err[-3000:])
    psql(ADMIN_DSN, f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
check("memory-writer exited 0 on SIGTERM", worker.returncode == 0, worker.returncode)
print(f"{len(failures)} failed" if failures else "schema gate holds")
sys.exit(1 if failures else 0)

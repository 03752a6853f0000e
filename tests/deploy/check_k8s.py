#!/usr/bin/env python3
"""Checks deploy/ against the code: the rendered Kubernetes manifests (every kustomize overlay) and
the compose file must only set BRAINFLEET_* variables the binaries know, with values they accept;
probes must hit the HTTP port the settings give; image-worker's memory limit must cover its image
memory budget, its cache and the process; topics must be the manifest's; autoscaling must target
the real consumer groups and input topics; alerts and dashboard panels may only query
metrics the C sources register.

Every rendered object is also validated strictly against the Kubernetes API types and the pinned
KEDA / Strimzi / Prometheus-operator CRD schemas (tests/deploy/k8s-validate, tests/deploy/crds).

Usage: check_k8s.py [SOURCE_DIR]   (BF_BUILD_DIR: the build dir holding the binaries)
Tools: kustomize from BF_TOOLS_DIR (default ~/.cache/brainfleet/tools, where scripts/setup installs
the pinned one), else kustomize or kubectl on PATH; Go to build k8s-validate.
Exit 0 all hold, 1 a check failed, 77 skipped (a tool missing) - but never skipped under CI=true:
there a missing tool is a failure, since scripts/setup installs them all.
"""
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
SKIP = 1 if IN_CI else 77
HERE = pathlib.Path(__file__).resolve().parent
TOOLS = pathlib.Path(os.environ.get("BF_TOOLS_DIR", pathlib.Path.home() / ".cache" / "brainfleet" / "tools"))
COMPONENT = "components/kube-prometheus-stack"
SRC = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("BF_SOURCE_DIR", ".")).resolve()
BUILD = pathlib.Path(os.environ.get("BF_BUILD_DIR", SRC / "build" / "deploy")).resolve()
K8S = SRC / "deploy" / "k8s"
RENDER_TARGETS = ["base"] + sorted(f"overlays/{p.name}" for p in (K8S / "overlays").iterdir() if p.is_dir())
BINARIES = {
    "brain-worker": BUILD / "brain-worker" / "brain-worker",
    "image-worker": BUILD / "image-worker" / "image-worker",
    "memory-writer": BUILD / "memory-writer" / "memory-writer",
    "fleetctl": BUILD / "fleetctl" / "fleetctl",
}
WORKERS = ("brain-worker", "image-worker", "memory-writer")
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
# Series that are not ours but legitimately queried: Prometheus' scrape health, kube-state-metrics.
EXTERNAL_METRICS = re.compile(r"^(up|kube_[a-z0-9_]+)$")

try:
    import yaml
except ImportError:
    print(("FAIL" if IN_CI else "SKIP") + ": PyYAML is missing (Debian: apt-get install python3-yaml; scripts/setup does)")
    sys.exit(SKIP)

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg)


# ---- what the code says ----------------------------------------------------------------------

def known_vars(binary):
    out = subprocess.run([str(BINARIES[binary]), "--help"], capture_output=True, text=True, timeout=20)
    text = out.stdout + out.stderr
    names = set(re.findall(r"^\s+(BRAINFLEET_[A-Z0-9_]+)\b", text, re.M))
    defaults = dict(re.findall(r"^\s+(BRAINFLEET_[A-Z0-9_]+) \([a-z]+, default: ([^;)]*)", text, re.M))
    if not names:
        raise SystemExit(f"no BRAINFLEET_* variables in `{binary} --help`:\n{text}")
    return names, defaults


def c_sources():
    for d in ("common", "brain-worker", "image-worker", "memory-writer"):
        yield from sorted((SRC / d).glob("*.c"))


def code_metrics():
    """Metric names registered in C (bf_metrics_counter/gauge/histogram, the runtime's helpers and
    brain-worker's count()), and which of them are histograms."""
    names, histograms = set(), set()
    for f in c_sources():
        text = f.read_text(errors="replace")
        for m in re.finditer(r'"((?:bf|brain|brainfleet|process)_[a-z0-9_]+)"', text):
            names.add(m.group(1))
        for m in re.finditer(r'bf_metrics_histogram\(\s*[^,]+,\s*"([a-z0-9_]+)"', text):
            histograms.add(m.group(1))
    return names, histograms


def schema_defines():
    defs = {}
    for f in sorted((SRC / "common").glob("*.h")):
        for m in re.finditer(r'#define\s+(BF_SCHEMA_[A-Z0-9_]+)\s+"([^"]+)"', f.read_text(errors="replace")):
            defs[m.group(1)] = m.group(2)
    return defs


def stage_inputs():
    """worker -> input topics, from the <stage>_stage_inputs[] arrays."""
    defs = schema_defines()
    stage_dirs = {"brain-worker": "brain", "image-worker": "image", "memory-writer": "memory"}
    result = {}
    for worker, stem in stage_dirs.items():
        text = (SRC / worker / f"{stem}_stage.c").read_text(errors="replace")
        m = re.search(stem + r"_stage_inputs\[\]\s*=\s*\{([^}]*)\}", text)
        if not m:
            raise SystemExit(f"cannot find {stem}_stage_inputs[] in {worker}/{stem}_stage.c")
        topics = []
        for tok in (t.strip() for t in m.group(1).split(",")):
            if not tok:
                continue
            if tok.startswith('"'):
                topics.append(tok.strip('"'))
            elif tok in defs:
                topics.append(defs[tok])
            else:
                raise SystemExit(f"{worker}: cannot resolve input topic {tok}")
        result[worker] = topics
    return result


def manifest_topics():
    topics = {}
    for line in (SRC / "schemas" / "topics.tsv").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, parts, retention = line.split("\t")[:3]
        topics[name] = (int(parts), int(retention))
    return topics


def parse_duration_ms(s):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)?", s.strip())
    if not m:
        raise ValueError(f"not a duration: {s!r}")
    mult = {"ms": 1, "s": 1000, "m": 60000, "h": 3600000, "d": 86400000, None: 1}[m.group(2)]
    return float(m.group(1)) * mult


# ---- rendering -------------------------------------------------------------------------------

def renderer():
    pinned = TOOLS / "kustomize"
    if pinned.is_file() and os.access(pinned, os.X_OK):
        return lambda d: [str(pinned), "build", str(d)]
    if shutil.which("kustomize"):
        return lambda d: ["kustomize", "build", str(d)]
    if shutil.which("kubectl"):
        return lambda d: ["kubectl", "kustomize", str(d)]
    return None


def build_validator():
    """Builds tests/deploy/k8s-validate (Go; the module cache scripts/setup filled) into the build
    dir. Returns its path, or None with the reason printed."""
    if not shutil.which("go"):
        print(("FAIL" if IN_CI else "SKIP") + ": Go is missing, so k8s-validate cannot be built")
        return None
    out = BUILD / "k8s-validate"
    r = subprocess.run(["go", "build", "-o", str(out), "."], cwd=HERE / "k8s-validate", capture_output=True,
                       text=True, timeout=600, env=dict(os.environ, GOFLAGS="-mod=mod"))
    if r.returncode != 0:
        fail("building tests/deploy/k8s-validate failed:\n" + r.stderr[-2000:])
        return None
    return out


def validate_strictly(validator, target, rendered):
    r = subprocess.run([str(validator), "-crds", str(HERE / "crds")], input=rendered, capture_output=True,
                       text=True, timeout=120)
    for line in r.stdout.splitlines():
        if line.startswith("FAIL "):
            fail(f"{target}: schema: {line[5:]}")
    if r.returncode != 0 and "FAIL " not in r.stdout:
        fail(f"{target}: k8s-validate failed: {r.stdout}{r.stderr}")
    return r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""


def render(cmd, target):
    out = subprocess.run(cmd(K8S / target), capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        fail(f"{target}: kustomize failed:\n{out.stderr}")
        return [], ""
    return [d for d in yaml.safe_load_all(out.stdout) if d], out.stdout


# ---- checks ----------------------------------------------------------------------------------

def pod_specs(docs):
    """(kind/name, pod spec) of every workload."""
    for d in docs:
        kind, name = d["kind"], d["metadata"]["name"]
        if kind in ("Deployment", "Job"):
            yield f"{kind}/{name}", d["spec"]["template"]["spec"]
        elif kind == "CronJob":
            yield f"{kind}/{name}", d["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def container_env(c, configmaps, where):
    """name -> value (None for Secret references) of a container: envFrom ConfigMaps, then env."""
    env = {}
    for ef in c.get("envFrom", []):
        if "configMapRef" in ef:
            ref = ef["configMapRef"]["name"]
            if ref not in configmaps:
                fail(f"{where}: envFrom ConfigMap {ref} is not in the rendered output")
                continue
            env.update(configmaps[ref].get("data", {}))
        elif "secretRef" in ef:
            fail(f"{where}: envFrom secretRef hides which variables it sets; use env secretKeyRef")
    for e in c.get("env", []):
        env[e["name"]] = e.get("value") if "valueFrom" not in e else None
    return env


def check_env_names(binary, env, vars_, where):
    for name in env:
        if not name.startswith("BRAINFLEET_"):
            continue
        if name in vars_[binary][0]:
            continue
        if name.startswith("BRAINFLEET_KAFKA_") and binary != "fleetctl":
            continue  # librdkafka pass-through; the values run below catches unknown properties
        fail(f"{where}: {name} is not a setting of {binary} (see `{binary} --help`)")


VALUE_RUNS = []


def check_env_values(argv, env, where):
    VALUE_RUNS.append((argv, env, where))


def run_value_checks():
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(lambda a: run_value_check(*a), VALUE_RUNS))


def run_value_check(argv, env, where):
    """Starts the binary with the rendered settings for a moment: a value its config parser or
    librdkafka rejects makes it exit at once (configuration error: status 2; unknown Kafka
    property: logged). Secrets get placeholders; nothing reachable is needed."""
    binary = argv[0]
    run_env = {k: v for k, v in os.environ.items() if not k.startswith("BRAINFLEET_")}
    for k, v in env.items():
        if k.startswith("BRAINFLEET_"):
            run_env[k] = "placeholder" if v is None else str(v)
    run_env["BRAINFLEET_HTTP_PORT"] = "0"
    run_env["BRAINFLEET_PG_DSN"] = "host=127.0.0.1 port=1 connect_timeout=1"
    run_env["BRAINFLEET_KAFKA_BROKERS"] = "127.0.0.1:1"
    run_env.pop("BRAINFLEET_KAFKA_SSL_CA_LOCATION", None)  # a file only the pod has
    if run_env.get("BRAINFLEET_KAFKA_SECURITY_PROTOCOL", "").upper().endswith("SSL"):
        run_env["BRAINFLEET_KAFKA_SECURITY_PROTOCOL"] = "SASL_PLAINTEXT"
    with tempfile.TemporaryDirectory() as tmp:
        try:
            out = subprocess.run([str(BINARIES[binary])] + list(argv[1:]), env=run_env, cwd=tmp,
                                 capture_output=True, text=True, timeout=1.5)
            rc, err = out.returncode, out.stderr
        except subprocess.TimeoutExpired as e:
            rc, err = None, (e.stderr or b"").decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
    bad = [l for l in err.splitlines() if "configuration error" in l or "kafka property" in l]
    if rc == 2 or bad:
        fail(f"{where}: {binary} rejects its settings: {' | '.join(bad) or err.strip()[:300]}")


def check_workloads(target, docs, vars_):
    configmaps = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"}
    for where, spec in pod_specs(docs):
        where = f"{target}: {where}"
        for c in spec.get("containers", []) + spec.get("initContainers", []):
            argv = c.get("command") or []
            if not argv or argv[0] not in BINARIES:
                fail(f"{where}: container {c['name']} runs {argv!r}, not one of {sorted(BINARIES)}")
                continue
            binary = argv[0]
            env = container_env(c, configmaps, where)
            check_env_names(binary, env, vars_, where)
            check_env_values(argv, env, where)
            if not where.split(": ")[1].startswith("Deployment/") or c in spec.get("initContainers", []):
                continue
            defaults = vars_[binary][1]
            try:
                port = int(env.get("BRAINFLEET_HTTP_PORT") or defaults["BRAINFLEET_HTTP_PORT"])
            except ValueError:
                fail(f"{where}: BRAINFLEET_HTTP_PORT {env.get('BRAINFLEET_HTTP_PORT')!r} is not a port number")
                continue
            ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
            for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
                p = c.get(probe)
                if not p or "httpGet" not in p:
                    fail(f"{where}: no {probe} httpGet")
                    continue
                if p["httpGet"].get("path") != path:
                    fail(f"{where}: {probe} path {p['httpGet'].get('path')} is not {path}")
                pp = p["httpGet"]["port"]
                pp = ports.get(pp) if isinstance(pp, str) else pp
                if pp != port:
                    fail(f"{where}: {probe} port {pp} but BRAINFLEET_HTTP_PORT is {port}")
            try:
                shutdown = parse_duration_ms(env.get("BRAINFLEET_SHUTDOWN_TIMEOUT") or defaults["BRAINFLEET_SHUTDOWN_TIMEOUT"])
            except ValueError as e:
                fail(f"{where}: BRAINFLEET_SHUTDOWN_TIMEOUT: {e}")
                continue
            grace = spec.get("terminationGracePeriodSeconds", 30)
            if grace * 1000 <= shutdown + 5000:
                fail(f"{where}: terminationGracePeriodSeconds {grace} is not above BRAINFLEET_SHUTDOWN_TIMEOUT "
                     f"({shutdown / 1000:g}s) plus 5s to leave the group")
            if "resources" not in c or "requests" not in c["resources"]:
                fail(f"{where}: no resource requests")


def effective_prefix_and_group(docs, worker):
    configmaps = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"}
    for d in docs:
        if d["kind"] == "Deployment" and d["metadata"]["name"] == worker:
            env = container_env(d["spec"]["template"]["spec"]["containers"][0], configmaps, worker)
            return env.get("BRAINFLEET_TOPIC_PREFIX") or "", env.get("BRAINFLEET_GROUP_ID") or worker
    return None, None


def check_topics_and_scaling(target, docs, manifest, inputs):
    prefixes = {effective_prefix_and_group(docs, w)[0] for w in WORKERS} - {None}
    if len(prefixes) != 1:
        fail(f"{target}: workers use different topic prefixes {prefixes}")
    prefix = prefixes.pop() if prefixes else ""
    kt = {d["spec"].get("topicName", d["metadata"]["name"]): d for d in docs if d["kind"] == "KafkaTopic"}
    want = {prefix + n for n in manifest}
    if set(kt) != want:
        fail(f"{target}: KafkaTopics {sorted(kt)} differ from the manifest {sorted(want)}")
    for name, (parts, retention) in manifest.items():
        d = kt.get(prefix + name)
        if not d:
            continue
        if d["spec"].get("partitions") != parts:
            fail(f"{target}: KafkaTopic {name} has {d['spec'].get('partitions')} partitions, manifest {parts}")
        if int(d["spec"].get("config", {}).get("retention.ms", -2)) != retention:
            fail(f"{target}: KafkaTopic {name} retention.ms differs from the manifest ({retention})")
    deployments = {d["metadata"]["name"] for d in docs if d["kind"] == "Deployment"}
    scaled = {d["spec"]["scaleTargetRef"]["name"]: d for d in docs if d["kind"] == "ScaledObject"}
    for worker in WORKERS:
        if worker not in deployments:
            fail(f"{target}: no Deployment {worker}")
        so = scaled.get(worker)
        if not so:
            fail(f"{target}: no ScaledObject targets {worker}")
            continue
        _, group = effective_prefix_and_group(docs, worker)
        topics = []
        for t in so["spec"].get("triggers", []):
            if t.get("type") != "kafka":
                continue
            md = t["metadata"]
            topics.append(md.get("topic"))
            if md.get("consumerGroup") != group:
                fail(f"{target}: ScaledObject {worker} watches group {md.get('consumerGroup')}, the worker's is {group}")
        want_topics = sorted(prefix + t for t in inputs[worker])
        if sorted(topics) != want_topics:
            fail(f"{target}: ScaledObject {worker} triggers on {sorted(topics)}, the worker consumes {want_topics}")
        max_parts = max(manifest[t][0] for t in inputs[worker])
        mx = so["spec"].get("maxReplicaCount")
        if mx is None or mx > max_parts:
            fail(f"{target}: ScaledObject {worker} maxReplicaCount {mx} above the {max_parts} partitions of its inputs")
        if so["spec"].get("minReplicaCount", 0) < 1:
            fail(f"{target}: ScaledObject {worker} may scale to zero (lag metrics need a member)")
    for d in docs:
        if d["kind"] in ("ScaledObject",) and d["spec"]["scaleTargetRef"]["name"] not in deployments:
            fail(f"{target}: ScaledObject {d['metadata']['name']} targets a missing Deployment")


def check_selectors(target, docs):
    pods = [d["spec"]["template"]["metadata"].get("labels", {}) for d in docs if d["kind"] == "Deployment"]
    def matches(sel):
        return any(all(l.get(k) == v for k, v in sel.items()) for l in pods)
    for d in docs:
        if d["kind"] == "PodDisruptionBudget" and not matches(d["spec"]["selector"].get("matchLabels", {})):
            fail(f"{target}: PDB {d['metadata']['name']} selects no Deployment's pods")
        if d["kind"] == "Service" and not matches(d["spec"].get("selector", {})):
            fail(f"{target}: Service {d['metadata']['name']} selects no pods")
    services = [d for d in docs if d["kind"] == "Service"]
    for sm in (d for d in docs if d["kind"] == "ServiceMonitor"):
        sel = sm["spec"]["selector"].get("matchLabels", {})
        hit = [s for s in services if all(s["metadata"].get("labels", {}).get(k) == v for k, v in sel.items())]
        if {s["metadata"]["name"] for s in hit} != set(WORKERS):
            fail(f"{target}: ServiceMonitor selects {[s['metadata']['name'] for s in hit]}, not the three workers")
        for ep in sm["spec"]["endpoints"]:
            for s in hit:
                if ep.get("port") not in {p.get("name") for p in s["spec"]["ports"]}:
                    fail(f"{target}: ServiceMonitor port {ep.get('port')} not on Service {s['metadata']['name']}")


def component_release_label():
    """The `release` value the kube-prometheus-stack component sets (the one place it is set)."""
    path = K8S / COMPONENT / "kustomization.yaml"
    if not path.exists():
        fail(f"deploy/k8s/{COMPONENT} is missing: nothing sets the labels the Prometheus operator selects by")
        return None
    comp = yaml.safe_load(path.read_text())
    for p in comp.get("patches", []):
        for op in yaml.safe_load(p.get("patch", "")) or []:
            if isinstance(op, dict) and op.get("path") == "/metadata/labels/release":
                return op.get("value")
    return None


def check_operator_labels(target, docs, release):
    """An overlay's ServiceMonitor and PrometheusRule carry the label kube-prometheus-stack selects."""
    if not target.startswith("overlays/"):
        return
    kust = yaml.safe_load((K8S / target / "kustomization.yaml").read_text())
    if not any(str(c).rstrip("/").endswith(COMPONENT) for c in kust.get("components", [])):
        fail(f"{target}: does not include ../../{COMPONENT} (the Prometheus operator selector labels)")
    for d in docs:
        if d["kind"] in ("ServiceMonitor", "PrometheusRule"):
            got = d["metadata"].get("labels", {}).get("release")
            if not release or got != release:
                fail(f"{target}: {d['kind']} {d['metadata']['name']} has release label {got!r}, "
                     f"not the component's {release!r}: kube-prometheus-stack would select neither")


# What image-worker needs besides its image memory budget and analysis cache: its libraries,
# librdkafka's queues, connections (an idle worker is about 18M; docs/image-analysis.md "Memory").
IMAGE_WORKER_PROCESS_BYTES = 128 << 20


def parse_size(text):
    """A BRAINFLEET_* size as bf_config reads it: a number with k, M, G (binary) or none."""
    m = re.fullmatch(r"(\d+)([kMG]?)", str(text).strip())
    if not m:
        raise ValueError(f"not a size: {text!r}")
    return int(m.group(1)) << {"": 0, "k": 10, "M": 20, "G": 30}[m.group(2)]


def parse_quantity(text):
    """A Kubernetes memory quantity in bytes (Ki/Mi/Gi/Ti binary, k/M/G/T decimal, or plain)."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?", str(text).strip())
    if not m:
        raise ValueError(f"not a memory quantity: {text!r}")
    mult = {None: 1, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "k": 10**3, "M": 10**6,
            "G": 10**9, "T": 10**12}[m.group(2)]
    return int(float(m.group(1)) * mult)


def check_image_memory(target, docs, vars_):
    """image-worker's memory limit covers its image budget, its cache and the process."""
    configmaps = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"}
    defaults = vars_["image-worker"][1]
    for d in docs:
        if d["kind"] != "Deployment":
            continue
        for c in d["spec"]["template"]["spec"].get("containers", []):
            if (c.get("command") or [None])[0] != "image-worker":
                continue
            where = f"{target}: Deployment/{d['metadata']['name']}"
            env = container_env(c, configmaps, where)
            try:
                budget = parse_size(env.get("BRAINFLEET_IMAGE_MEMORY_BUDGET") or defaults["BRAINFLEET_IMAGE_MEMORY_BUDGET"])
                cache = parse_size(env.get("BRAINFLEET_CACHE_BYTES") or defaults["BRAINFLEET_CACHE_BYTES"])
                limit = c.get("resources", {}).get("limits", {}).get("memory")
                if limit is None:
                    fail(f"{where}: image-worker has no memory limit (it must cover BRAINFLEET_IMAGE_MEMORY_BUDGET)")
                    continue
                limit = parse_quantity(limit)
            except (KeyError, ValueError) as e:
                fail(f"{where}: image-worker memory settings: {e}")
                continue
            need = budget + cache + IMAGE_WORKER_PROCESS_BYTES
            if limit < need:
                fail(f"{where}: memory limit {limit >> 20}Mi is below BRAINFLEET_IMAGE_MEMORY_BUDGET "
                     f"({budget >> 20}Mi) + BRAINFLEET_CACHE_BYTES ({cache >> 20}Mi) + "
                     f"{IMAGE_WORKER_PROCESS_BYTES >> 20}Mi for the process = {need >> 20}Mi")


def check_migrations_and_spread(target, docs):
    for d in docs:
        if d["kind"] == "Job":
            fail(f"{target}: Job {d['metadata']['name']}: a Job's template is immutable, so GitOps tools cannot "
                 "re-apply it; migrations run as memory-writer's init container")
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    mw = deployments.get("memory-writer")
    if mw:
        inits = mw["spec"]["template"]["spec"].get("initContainers", [])
        if not any((c.get("command") or []) == ["memory-writer", "migrate"] for c in inits):
            fail(f"{target}: memory-writer has no init container running `memory-writer migrate`")
    for name, d in deployments.items():
        own = d["spec"]["template"]["metadata"].get("labels", {})
        tsc = d["spec"]["template"]["spec"].get("topologySpreadConstraints", [])
        if not any(c.get("topologyKey") == "kubernetes.io/hostname" for c in tsc):
            fail(f"{target}: Deployment {name} has no topology spread over kubernetes.io/hostname")
        for c in tsc:
            sel = c.get("labelSelector", {})
            if sel.get("matchExpressions") or not sel.get("matchLabels"):
                fail(f"{target}: Deployment {name}: topology spread selector {sel} is not per component")
                continue
            picks = [n for n, o in deployments.items()
                     if all(o["spec"]["template"]["metadata"].get("labels", {}).get(k) == v
                            for k, v in sel["matchLabels"].items())]
            if picks != [name] or not all(own.get(k) == v for k, v in sel["matchLabels"].items()):
                fail(f"{target}: Deployment {name}: topology spread counts the pods of {picks}, not its own only")


def check_credentials(target, docs):
    """prod: a credential the workers read is never optional."""
    if target != "overlays/prod":
        return
    for where, spec in pod_specs(docs):
        for c in spec.get("containers", []) + spec.get("initContainers", []):
            for e in c.get("env", []):
                ref = (e.get("valueFrom") or {}).get("secretKeyRef")
                if ref and ref.get("optional"):
                    fail(f"{target}: {where}: {e['name']} comes from an optional Secret ({ref['name']}); "
                         "production credentials must be required")


def metric_tokens(expr):
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # label values are not metric names
    expr = re.sub(r"\{[^}]*\}", "{}", expr)          # nor are label names
    expr = re.sub(r"\[[^\]]*\]", "[]", expr)
    return set(re.findall(r"\b[a-zA-Z_:][a-zA-Z0-9_:]*\b(?=\s*(?:\{|\[|\)|,|$|\s|>|<|=|!|\*|/|\+|-))", expr))


PROMQL_WORDS = {
    "sum", "max", "min", "avg", "count", "by", "without", "on", "ignoring", "group_left", "group_right",
    "and", "or", "unless", "rate", "irate", "increase", "deriv", "delta", "histogram_quantile",
    "changes", "resets", "absent", "time", "vector", "scalar", "bool", "offset", "le", "topic", "job",
    "pod", "namespace", "container", "stage", "decider", "code", "reason", "analyser", "humanize",
}


def check_queries(target, exprs, code_names, histograms):
    for where, expr in exprs:
        for tok in metric_tokens(expr):
            if tok in PROMQL_WORDS or EXTERNAL_METRICS.match(tok) or tok.startswith("$"):
                continue
            base = tok
            for suf in HISTOGRAM_SUFFIXES:
                if tok.endswith(suf) and tok[: -len(suf)] in histograms:
                    base = tok[: -len(suf)]
            if base in histograms and base == tok:
                fail(f"{target}: {where}: {tok} is a histogram; query {tok}_bucket/_sum/_count")
            elif base not in code_names:
                fail(f"{target}: {where}: metric {tok} is not exported by the workers")


def rule_exprs(docs):
    for d in docs:
        if d["kind"] != "PrometheusRule":
            continue
        for g in d["spec"]["groups"]:
            for r in g["rules"]:
                yield f"rule {r.get('alert') or r.get('record')}", r["expr"]


def dashboard_exprs(docs):
    n = 0
    for d in docs:
        if d["kind"] != "ConfigMap" or d["metadata"].get("labels", {}).get("grafana_dashboard") != "1":
            continue
        for fname, body in d.get("data", {}).items():
            dash = json.loads(body)
            for p in dash.get("panels", []):
                for t in p.get("targets", []):
                    n += 1
                    yield f"dashboard {fname} panel '{p.get('title')}'", t["expr"]
            for v in dash.get("templating", {}).get("list", []):
                q = v.get("query")
                if isinstance(q, dict):
                    q = q.get("query", "")
                if isinstance(q, str) and "label_values(" in q:
                    yield f"dashboard {fname} variable {v['name']}", re.sub(r"label_values\((.*),\s*\w+\)", r"\1", q)
    if n == 0:
        fail("no Grafana dashboard ConfigMap (label grafana_dashboard=1) with panel queries")


def check_compose(vars_):
    path = SRC / "deploy" / "docker" / "compose.yaml"
    if not path.exists():
        return
    doc = yaml.safe_load(path.read_text())
    for name, svc in doc["services"].items():
        if not str(svc.get("image", "")).startswith("brainfleet"):
            continue
        cmd = svc.get("command") or ["brain-worker"]
        words = " ".join(cmd).replace("&&", " ").split()
        binaries = [w for w in words if w in BINARIES] or ["brain-worker"]
        env = svc.get("environment") or {}
        for binary in binaries:
            check_env_names(binary if binary != "fleetctl" else "memory-writer", env, vars_, f"compose: {name}")
        port = str(env.get("BRAINFLEET_HTTP_PORT", "8080"))
        for p in svc.get("ports", []):
            if not str(p).endswith(":" + port):
                fail(f"compose: {name} publishes {p}, the worker listens on {port}")


def main():
    for b, p in BINARIES.items():
        if not p.exists():
            print(f"FAIL: {p} missing: build first (BF_BUILD_DIR={BUILD})")
            return 1
    gen = subprocess.run([str(K8S / "gen-topics.sh"), "--check"], capture_output=True, text=True)
    print(gen.stdout.strip() or gen.stderr.strip())
    if gen.returncode != 0:
        fail("deploy/k8s/base/topics.yaml does not match schemas/topics.tsv:\n" + gen.stdout + gen.stderr)
    vars_ = {b: known_vars(b) for b in BINARIES}
    code_names, histograms = code_metrics()
    inputs = stage_inputs()
    manifest = manifest_topics()
    for w, ts in inputs.items():
        for t in ts:
            if t not in manifest:
                fail(f"{w} consumes {t}, which is not in schemas/topics.tsv")
    check_compose(vars_)
    cmd = renderer()
    if cmd is None:
        print(("FAIL" if IN_CI else "SKIP") + ": no kustomize renderer: scripts/setup installs the pinned "
              f"kustomize into {TOOLS} (go install sigs.k8s.io/kustomize/kustomize/v5); kubectl or kustomize "
              "on PATH also do.")
        return 1 if failures else SKIP
    validator = build_validator()
    if validator is None:
        return 1 if failures or IN_CI else SKIP
    release = component_release_label()
    for target in RENDER_TARGETS:
        docs, rendered = render(cmd, target)
        if not docs:
            continue
        kinds = sorted({d["kind"] for d in docs})
        print(f"{target}: {len(docs)} objects ({', '.join(kinds)})")
        print(f"{target}: {validate_strictly(validator, target, rendered)}")
        check_operator_labels(target, docs, release)
        check_migrations_and_spread(target, docs)
        check_credentials(target, docs)
        check_workloads(target, docs, vars_)
        check_image_memory(target, docs, vars_)
        check_topics_and_scaling(target, docs, manifest, inputs)
        check_selectors(target, docs)
        check_queries(target, list(rule_exprs(docs)) + list(dashboard_exprs(docs)), code_names, histograms)
    run_value_checks()
    print(f"settings accepted by the binaries: {len(VALUE_RUNS)} containers started with their rendered env")
    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    print("deploy manifests are consistent with the code")
    return 0


if __name__ == "__main__":
    sys.exit(main())

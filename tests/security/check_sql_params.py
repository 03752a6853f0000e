#!/usr/bin/env python3
"""SQL reaches PostgreSQL only as fixed text; data travels as $n parameters.

Finds every call that sends SQL text (PQexec, PQexecParams, PQprepare, PQsendQuery,
PQsendQueryParams, PQsendPrepare, bf_db_query, bf_db_exec, and any function that forwards one of
its parameters to those, found to a fixed point) in the C sources and classifies the SQL argument:
  - string literals (adjacent ones and UPPER_CASE macros concatenated) ............ fine
  - a name bound to literals in the file (static const char x[] = "..."; const char *x = "...")
  - a parameter of the enclosing function (then that function's callers are checked instead)
  - a name written by snprintf/sprintf/strcat/strncat/vsnprintf/asprintf/memcpy, or anything else
    (a member, a call, a ternary) ........................................... FAIL, unless allow-listed.
Each allow-list entry names the file and function and says why the text is not data.
Usage: check_sql_params.py [repo root]. Exit 0 clean, 1 with file:line: reason per violation."""
import os
import re
import sys

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", ".."))
DIRS = ["common", "brain-worker", "image-worker", "memory-writer", "fleetctl", "bench", "tests"]
SKIP = ["tests/fuzz/"]

# (path, function) -> why the SQL text there is not built from data.
ALLOW = {
    ("common/bf_migrate.c", "apply_one"):
        "m->sql is a migration file of schemas/sql embedded at build time, never input; the simple-query "
        "protocol (PQexec) is needed because one file holds several statements",
    ("common/bf_pg.c", "send_batch"):
        "q->sql is the sql argument of bf_pg_query(_prepared), copied when the query was queued and sent on "
        "a later loop turn; those and the pool's are sinks below, so their callers' SQL is checked",
    ("memory-writer/memory_store.c", "prepare"):
        "stmts[i].sql is one of the file's four static const SQL texts (the stmts table); data travels "
        "as the prepared statements' binary parameters",
    ("memory-writer/memory_store.c", "async_send_phase"):
        "the same stmts[i].sql texts, prepared inside the pipelined write (PQsendPrepare) when the session "
        "lacks them",
    ("tests/integration/test_brain_llm.c", "group_setup"):
        "CREATE DATABASE takes an identifier, not a parameter; the name is random hex the test made",
    ("tests/integration/test_brain_llm.c", "group_teardown"):
        "DROP DATABASE of the test's own random-hex database",
    ("tests/integration/test_migrate.c", "fresh_db"):
        "CREATE DATABASE of a random-hex name the test made",
    ("tests/integration/test_migrate.c", "test_apply_twice"):
        "table names from the test's own constant list (information_schema query); no outside data",
    ("tests/integration/test_brain_context_db.c", "fresh_db"):
        "CREATE DATABASE of a random-hex name the test made",
    ("tests/integration/test_brain_context_db.c", "seed"):
        "seed rows from the test's loop counter and two fixed role words; no outside data",
}

SINKS = {"PQexec": 1, "PQexecParams": 1, "PQprepare": 2, "PQsendQuery": 1, "PQsendQueryParams": 1,
         "PQsendPrepare": 2, "bf_db_query": 1, "bf_db_exec": 1, "bf_pg_query": 1, "bf_pg_pool_query": 1,
         "bf_pg_query_prepared": 2, "bf_pg_pool_query_prepared": 2}
BUILDERS = r"(?:snprintf|sprintf|vsnprintf|vsprintf|strcat|strncat|strcpy|strncpy|memcpy|asprintf|stpcpy)"
KEYWORDS = {"if", "for", "while", "switch", "return", "sizeof", "do", "else"}


def blank(src):
    """Comments removed and each string literal replaced by "S" (newlines kept for line numbers)."""
    out, i, n = [], 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
        elif src.startswith("/*", i):
            j = src.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("\n" * src.count("\n", i, j))
            i = j
        elif c == '"' or c == "'":
            j = i + 1
            while j < n and src[j] != c:
                j += 2 if src[j] == "\\" else 1
            out.append('"S"' if c == '"' else "'C'")
            out.append("\n" * src.count("\n", i, j))
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def functions(text):
    """[(name, params, start, end)] of function definitions (top-level brace blocks after a ')')."""
    res, depth, i = [], 0, 0
    for m in re.finditer(r"[{}]", text):
        if m.group() == "{":
            if depth == 0:
                head = text[max(0, m.start() - 600):m.start()]
                fm = re.search(r"\b([A-Za-z_]\w*)\s*\(([^()]*(?:\([^()]*\)[^()]*)*)\)\s*$", head)
                if fm and fm.group(1) not in KEYWORDS:
                    i = len(res)
                    res.append([fm.group(1), fm.group(2), m.start(), None])
                else:
                    res.append([None, "", m.start(), None])
            depth += 1
        else:
            depth -= 1
            if depth == 0 and res:
                res[-1][3] = m.end()
    return [tuple(r) for r in res if r[0] and r[3]]


def param_names(params):
    names = []
    for p in params.split(","):
        m = re.search(r"([A-Za-z_]\w*)\s*(?:\[[^\]]*\])?\s*$", p.strip())
        names.append(m.group(1) if m else None)
    return names


def split_args(text, start):
    """Arguments of the call whose '(' is at start; returns (args, end)."""
    depth, args, cur, i = 0, [], [], start
    while i < len(text):
        c = text[i]
        if c in "([{":
            depth += 1
            if depth == 1:
                i += 1
                continue
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                args.append("".join(cur).strip())
                return args, i
        elif c == "," and depth == 1:
            args.append("".join(cur).strip())
            cur = []
            i += 1
            continue
        cur.append(c)
        i += 1
    return args, i


def lineno(text, pos):
    return text.count("\n", 0, pos) + 1


def main():
    files = []
    for d in DIRS:
        for dp, _, fns in os.walk(os.path.join(ROOT, d)):
            for f in fns:
                if f.endswith((".c", ".h")):
                    rel = os.path.relpath(os.path.join(dp, f), ROOT)
                    if not any(rel.startswith(s) for s in SKIP):
                        files.append(rel)
    texts = {f: blank(open(os.path.join(ROOT, f), encoding="utf-8", errors="replace").read()) for f in sorted(files)}
    funcs = {f: functions(t) for f, t in texts.items()}
    sinks = {k: (v, None) for k, v in SINKS.items()}  # name -> (sql arg index, defining file or None=global)
    problems, checked = {}, 0
    changed = True
    while changed:
        changed, problems, checked = False, {}, 0
        for f, text in texts.items():
            for name, params, start, end in funcs[f]:
                body = text[start:end]
                pnames = param_names(params)
                for sink, (idx, where) in list(sinks.items()):
                    if where and where != f:
                        continue
                    for cm in re.finditer(r"\b" + re.escape(sink) + r"\s*\(", body):
                        pos = start + cm.end() - 1
                        args, _ = split_args(text, pos)
                        if len(args) <= idx:
                            continue
                        arg = args[idx]
                        line = lineno(text, pos)
                        checked += 1
                        why = classify(arg, text, body, pnames)
                        if why == "param":
                            if name not in sinks and name != sink:
                                static = re.search(r"\bstatic\b[^;{}]*\b" + re.escape(name) + r"\s*\(",
                                                   text[max(0, start - 600):start])
                                sinks[name] = (pnames.index(arg), f if static else None)
                                changed = True
                            continue
                        if why and (f, name) not in ALLOW:
                            problems[(f, line)] = f"{f}:{line}: {sink}() in {name}(): SQL text {why}: {arg[:60]}"
    for p in sorted(problems.values()):
        print(p)
    wrappers = sorted(k for k in sinks if k not in SINKS)
    print(f"check_sql_params: {checked} SQL call sites checked; forwarding wrappers: {', '.join(wrappers) or 'none'}; "
          f"{len(ALLOW)} allow-listed functions; {len(problems)} violation(s)")
    return 1 if problems else 0


def classify(arg, text, body, pnames):
    """None when the SQL text is fixed; "param" when it is a parameter; else the reason."""
    a = arg.strip()
    while a.startswith("(") and a.endswith(")"):
        a = a[1:-1].strip()
    if re.fullmatch(r'(?:"S"|[A-Z_][A-Z0-9_]*)(?:\s*(?:"S"|[A-Z_][A-Z0-9_]*))*', a) and '"S"' in a:
        return None
    if re.fullmatch(r"[A-Za-z_]\w*", a):
        if re.search(r"\b" + BUILDERS + r"\s*\(\s*&?\s*" + re.escape(a) + r"\b", body):
            return "is built at run time (written by a string function)"
        if a in pnames:
            return "param"
        decl = re.search(r"\bconst\s+char\s*(?:\*\s*(?:const\s+)?)?" + re.escape(a) +
                         r"\s*(?:\[\s*\])?\s*=\s*((?:\"S\"|[A-Z_][A-Z0-9_]*|\s)+);", text)
        if decl and '"S"' in decl.group(1):
            return None
        return "is not a literal or a constant bound to literals"
    return "is an expression, not fixed text"


if __name__ == "__main__":
    sys.exit(main())

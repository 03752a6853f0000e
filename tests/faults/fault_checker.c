/* fault_checker: what a fault run sent against what the topics and the database hold.
 *
 *   fault_checker --prefix P --requests FILE [--wait-ms N] [--allow-dlq code,code...] [--images-once]
 *                 [--evidence-once]
 *
 * FILE has one line per brainRequests message sent: "request_id<TAB>project_id<TAB>n_images".
 * Topics are read with the real codecs (bf_msg_*_decode), the database (BRAINFLEET_PG_DSN) with
 * libpq. Each request's prompt states a preference unique to it ("I prefer palette r<i>"), so its
 * memoryUpdates leaves exactly one project_memory row (user_preference, stated:palette r<i>) whose
 * evidence_count counts how often that update was applied.
 *
 * The guarantee checked (docs/reliability.md, "Fault tests"): at-least-once delivery plus
 * idempotent persistence. Allowed: a brain-worker SIGKILLed between producing a decision and
 * committing the request's offset decides it again (a "redelivered duplicate" decision, reported,
 * not failed), and may fan its images out again under new trace ids ("re-analysed images").
 * Failed (exit 1): a request without a decision and without a dead letter (lost); a decided
 * request whose two messages rows are missing; a fanned-out image trace id without its
 * image_analysis row (lost facts); a (project, content_hash, trace_id) stored twice; a request's
 * preference applied more than once (evidence_count > 1: a duplicated database effect); a dead
 * letter whose reason is not in --allow-dlq (unexplained). Decisions published with an error (the
 * LLM failed on every attempt) count as decided and are reported by error code.
 * --images-once also fails a request whose images were fanned out under more trace ids than it has
 * images (re-analysed on redelivery: the brain must derive them, issue 17); --evidence-once a
 * project whose image-derived preference (preferred_mood, preferred_colors) counts more evidence
 * than the project has distinct images (content hashes): an image counts once per project.
 * With --wait-ms it re-reads until nothing is missing or the time is up (the pipeline drains).
 * Exit 0 all held, 1 a check failed, 2 usage or set-up error. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf_msg_brain_decision.h"
#include "bf_msg_brain_request.h"
#include "bf_msg_dead_letter.h"
#include "bf_msg_image_analysis_requested.h"
#include "bf_test_kafka.h"

typedef struct request {
    char id[BF_UUID_LEN + 1];
    char project[BF_ID_MAX + 1];
    int images;
    int decisions;             /* kind=decision messages */
    int enrich_msgs;           /* image_facts_enriched messages */
    int enrich_distinct;       /* distinct facts trace ids among them */
    int fanouts;               /* distinct image trace ids requested */
    int dead;                  /* dead letters of this request's brainRequests/imageAnalysisRequested */
    int messages_rows;         /* user + assistant rows in messages */
    int evidence;              /* evidence_count of its stated preference (0: no row) */
    char (*enrich_ids)[BF_TRACE_ID_LEN + 1];
    size_t n_enrich_ids, cap_enrich_ids;
} request;

typedef struct fanout {
    char trace_id[BF_TRACE_ID_LEN + 1];
    size_t req;
    int rows;    /* image_analysis rows for (project, trace_id) */
    int covered; /* its facts reached the brain: in a decision's image_trace_ids or an enrichment */
} fanout;

typedef struct reason {
    char code[BF_ERROR_CODE_MAX + 1];
    char topic[96];
    int count;
    int allowed;
} reason;

typedef struct counts {
    long sent, decided, redelivered_dups, lost, dead_lettered_requests, with_images, images_expected;
    long enrich_msgs, enrich_distinct, enrich_dups, fully_enriched;
    long fanouts, reanalysed, facts_rows, facts_lost, facts_dup;
    long messages_missing, effects_dup, effects_missing, enrich_missing;
    long dlq_total, dlq_unexplained, foreign_decisions, undecodable;
    long evidence_over; /* image-derived preference rows counting more evidence than distinct images */
} counts;

static request *reqs;
static size_t n_reqs;
static fanout *fans;
static size_t n_fans, cap_fans;
static reason reasons[64];
static char (*seen_ids)[BF_TRACE_ID_LEN + 1]; /* trace ids the brain had: decisions' and enrichments' */
static size_t n_seen, cap_seen;

static void saw(const char *id) {
    if (n_seen == cap_seen) seen_ids = realloc(seen_ids, (cap_seen = cap_seen ? cap_seen * 2 : 1024) * sizeof *seen_ids);
    snprintf(seen_ids[n_seen++], sizeof seen_ids[0], "%s", id);
}
static size_t n_reasons;
/* Decisions published with an error (the LLM failed on every attempt): decided, but reported. */
static reason decision_errors[16];
static size_t n_decision_errors;

static void add_decision_error(const char *code) {
    for (size_t i = 0; i < n_decision_errors; i++)
        if (strcmp(decision_errors[i].code, code) == 0) {
            decision_errors[i].count++;
            return;
        }
    if (n_decision_errors == sizeof decision_errors / sizeof decision_errors[0]) return;
    reason *r = &decision_errors[n_decision_errors++];
    snprintf(r->code, sizeof r->code, "%s", code);
    r->count = 1;
}

static int cmp_req(const void *a, const void *b) { return strcmp(((const request *)a)->id, ((const request *)b)->id); }
static int cmp_fan(const void *a, const void *b) {
    return strcmp(((const fanout *)a)->trace_id, ((const fanout *)b)->trace_id);
}

static request *find_req(const char *id) {
    request key;
    snprintf(key.id, sizeof key.id, "%s", id);
    return bsearch(&key, reqs, n_reqs, sizeof *reqs, cmp_req);
}

static fanout *find_fan(const char *trace_id) {
    fanout key;
    snprintf(key.trace_id, sizeof key.trace_id, "%s", trace_id);
    return n_fans ? bsearch(&key, fans, n_fans, sizeof *fans, cmp_fan) : NULL;
}

static int parse_int(const char *s, long lo, long hi, long *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static int load_requests(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return -1;
    }
    size_t cap = 1024;
    reqs = calloc(cap, sizeof *reqs);
    char line[512];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!*line) continue;
        char *id = strtok(line, "\t"), *proj = strtok(NULL, "\t"), *img = strtok(NULL, "\t");
        long n;
        if (!id || !proj || !img || parse_int(img, 0, BF_MAX_IMAGE_URLS, &n) != 0) {
            fprintf(stderr, "%s: bad line (want request_id<TAB>project<TAB>n_images)\n", path);
            fclose(f);
            return -1;
        }
        if (n_reqs == cap) reqs = realloc(reqs, (cap *= 2) * sizeof *reqs);
        request *r = &reqs[n_reqs++];
        memset(r, 0, sizeof *r);
        snprintf(r->id, sizeof r->id, "%s", id);
        snprintf(r->project, sizeof r->project, "%s", proj);
        r->images = (int)n;
    }
    fclose(f);
    qsort(reqs, n_reqs, sizeof *reqs, cmp_req);
    return 0;
}

static void reset(void) {
    for (size_t i = 0; i < n_reqs; i++) {
        request *r = &reqs[i];
        free(r->enrich_ids);
        char id[sizeof r->id], proj[sizeof r->project];
        int images = r->images;
        memcpy(id, r->id, sizeof id);
        memcpy(proj, r->project, sizeof proj);
        memset(r, 0, sizeof *r);
        memcpy(r->id, id, sizeof id);
        memcpy(r->project, proj, sizeof proj);
        r->images = images;
    }
    n_fans = 0;
    n_reasons = 0;
    n_decision_errors = 0;
    n_seen = 0;
}

static void add_reason(const char *code, const char *topic, const char *allow) {
    for (size_t i = 0; i < n_reasons; i++)
        if (strcmp(reasons[i].code, code) == 0 && strcmp(reasons[i].topic, topic) == 0) {
            reasons[i].count++;
            return;
        }
    if (n_reasons == sizeof reasons / sizeof reasons[0]) return;
    reason *r = &reasons[n_reasons++];
    snprintf(r->code, sizeof r->code, "%s", code);
    snprintf(r->topic, sizeof r->topic, "%s", topic);
    r->count = 1;
    /* allow is "a,b,c": whole-word match */
    size_t n = strlen(code);
    for (const char *p = allow; p && *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && strncmp(p, code, n) == 0) r->allowed = 1;
        p = e ? e + 1 : p + len;
    }
}

static void read_topics(const char *prefix, const char *allow, int idle_ms, int max_wait_ms, counts *c) {
    char topic[256];
    size_t got = 0;
    char err[512];

    snprintf(topic, sizeof topic, "%sbrainDecisions", prefix);
    bf_test_msg *m = bf_test_consume_all(topic, n_reqs, idle_ms, max_wait_ms, &got);
    for (size_t i = 0; i < got; i++) {
        bf_msg_brain_decision d;
        if (bf_msg_brain_decision_decode(m[i].payload, m[i].len, &d, err, sizeof err) != 0) {
            c->undecodable++;
            continue;
        }
        request *r = find_req(d.request_id);
        if (!r) c->foreign_decisions++;
        else if (d.kind == BF_DECISION_KIND_DECISION) {
            r->decisions++;
            if (d.error.present) add_decision_error(d.error.code);
            for (size_t k = 0; k < d.image_trace_ids.n; k++) saw(d.image_trace_ids.v[k]);
        } else {
            saw(d.facts.trace_id);
            r->enrich_msgs++;
            int seen = 0;
            for (size_t k = 0; k < r->n_enrich_ids; k++) seen |= strcmp(r->enrich_ids[k], d.facts.trace_id) == 0;
            if (!seen) {
                if (r->n_enrich_ids == r->cap_enrich_ids) {
                    r->cap_enrich_ids = r->cap_enrich_ids ? r->cap_enrich_ids * 2 : 4;
                    r->enrich_ids = realloc(r->enrich_ids, r->cap_enrich_ids * sizeof *r->enrich_ids);
                }
                snprintf(r->enrich_ids[r->n_enrich_ids++], sizeof r->enrich_ids[0], "%s", d.facts.trace_id);
                r->enrich_distinct++;
            }
        }
        bf_msg_brain_decision_free(&d);
    }
    bf_test_msgs_free(m, got);

    snprintf(topic, sizeof topic, "%simageAnalysisRequested", prefix);
    m = bf_test_consume_all(topic, 0, idle_ms < 2000 ? idle_ms : 2000, max_wait_ms, &got);
    for (size_t i = 0; i < got; i++) {
        bf_msg_image_analysis_requested a;
        if (bf_msg_image_analysis_requested_decode(m[i].payload, m[i].len, &a, err, sizeof err) != 0) {
            c->undecodable++;
            continue;
        }
        request *r = find_req(a.request_id);
        if (r) {
            if (n_fans == cap_fans) fans = realloc(fans, (cap_fans = cap_fans ? cap_fans * 2 : 1024) * sizeof *fans);
            fanout *f = &fans[n_fans++];
            snprintf(f->trace_id, sizeof f->trace_id, "%s", a.image_trace_id);
            f->req = (size_t)(r - reqs);
            f->rows = 0;
        }
        bf_msg_image_analysis_requested_free(&a);
    }
    bf_test_msgs_free(m, got);
    qsort(fans, n_fans, sizeof *fans, cmp_fan);
    /* A redelivered imageAnalysisRequested (same trace id twice) is one fan-out. */
    size_t w = 0;
    for (size_t i = 0; i < n_fans; i++)
        if (w == 0 || strcmp(fans[w - 1].trace_id, fans[i].trace_id) != 0) fans[w++] = fans[i];
    n_fans = w;
    for (size_t i = 0; i < n_fans; i++) reqs[fans[i].req].fanouts++;
    for (size_t i = 0; i < n_seen; i++) {
        fanout *f = find_fan(seen_ids[i]);
        if (f) f->covered = 1;
    }

    snprintf(topic, sizeof topic, "%sdeadLetters", prefix);
    m = bf_test_consume_all(topic, 0, idle_ms < 2000 ? idle_ms : 2000, max_wait_ms, &got);
    for (size_t i = 0; i < got; i++) {
        bf_msg_dead_letter d;
        if (bf_msg_dead_letter_decode(m[i].payload, m[i].len, &d, err, sizeof err) != 0) {
            c->undecodable++;
            c->dlq_total++;
            add_reason("undecodable_dead_letter", "?", NULL);
            continue;
        }
        c->dlq_total++;
        const char *src = d.topic ? d.topic : "?";
        size_t pl = strlen(prefix);
        add_reason(d.reason_code, strncmp(src, prefix, pl) == 0 ? src + pl : src, allow);
        if (d.original_payload) {
            bf_msg_brain_request br;
            bf_msg_image_analysis_requested ar;
            const char *p = (const char *)d.original_payload;
            request *r = NULL;
            if (bf_msg_brain_request_decode(p, d.original_payload_len, &br, err, sizeof err) == 0) {
                r = find_req(br.request_id);
                bf_msg_brain_request_free(&br);
            } else if (bf_msg_image_analysis_requested_decode(p, d.original_payload_len, &ar, err, sizeof err) == 0) {
                r = find_req(ar.request_id);
                bf_msg_image_analysis_requested_free(&ar);
            }
            if (r) r->dead++;
        }
        bf_msg_dead_letter_free(&d);
    }
    bf_test_msgs_free(m, got);
}

static PGresult *query(PGconn *db, const char *sql, const char *prefix) {
    char like[300];
    snprintf(like, sizeof like, "%s%%", prefix);
    const char *params[1] = {like};
    PGresult *res = PQexecParams(db, sql, 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        fprintf(stderr, "fault_checker: query failed: %s", PQerrorMessage(db));
        PQclear(res);
        return NULL;
    }
    return res;
}

static int read_db(PGconn *db, const char *prefix, counts *c) {
    /* Both conversation messages of a request: the user message's id is the request id. */
    PGresult *res = query(db,
                          "SELECT message_id::text, role FROM messages WHERE project_id LIKE $1", prefix);
    if (!res) return -1;
    for (int i = 0; i < PQntuples(res); i++) {
        const char *id = PQgetvalue(res, i, 0);
        request *r = NULL;
        if (strcmp(PQgetvalue(res, i, 1), "user") == 0) r = find_req(id);
        else {
            /* The assistant id differs from the request id in its last hex digit (^1). */
            char rid[BF_UUID_LEN + 1];
            snprintf(rid, sizeof rid, "%s", id);
            size_t n = strlen(rid);
            if (n) {
                char ch = rid[n - 1];
                int v = (ch >= '0' && ch <= '9') ? ch - '0' : ch - 'a' + 10;
                v ^= 1;
                rid[n - 1] = (char)(v < 10 ? '0' + v : 'a' + v - 10);
                r = find_req(rid);
            }
        }
        if (r) r->messages_rows++;
    }
    PQclear(res);

    res = query(db,
                "SELECT trace_id, count(*) FROM image_analysis WHERE project_id LIKE $1 "
                "GROUP BY project_id, content_hash, trace_id",
                prefix);
    if (!res) return -1;
    for (int i = 0; i < PQntuples(res); i++) {
        fanout *f = find_fan(PQgetvalue(res, i, 0));
        long n = 0;
        parse_int(PQgetvalue(res, i, 1), 0, 1L << 30, &n);
        c->facts_rows += n;
        if (n > 1) c->facts_dup += n - 1;
        if (f) f->rows += (int)n;
    }
    PQclear(res);
    return 0;
}

static int read_evidence(PGconn *db, const char *prefix) {
    /* The value holds the statement "I prefer palette r<index>"; the key its lowercase phrase. */
    PGresult *res = query(db,
                          "SELECT project_id, key, evidence_count FROM project_memory WHERE project_id LIKE $1 "
                          "AND memory_type = 'user_preference' AND key LIKE 'stated:palette %'",
                          prefix);
    if (!res) return -1;
    for (int i = 0; i < PQntuples(res); i++) {
        /* key "stated:palette <request id>" */
        const char *key = PQgetvalue(res, i, 1);
        const char *sp = strrchr(key, ' ');
        request *r = sp ? find_req(sp + 1) : NULL;
        long n = 0;
        parse_int(PQgetvalue(res, i, 2), 0, 1L << 30, &n);
        if (r) r->evidence += (int)n;
    }
    PQclear(res);
    return 0;
}

/* Image evidence: per project, each image-derived preference's evidence_count against the
 * project's distinct analysed images. An image counted once per project can raise it by one at
 * most, so a count above the distinct images is an image counted twice. */
static int read_image_evidence(PGconn *db, const char *prefix, counts *c) {
    PGresult *res = query(db,
                          "SELECT m.project_id, m.key, m.evidence_count, (SELECT count(DISTINCT a.content_hash) FROM "
                          "image_analysis a WHERE a.project_id = m.project_id) FROM project_memory m WHERE m.project_id "
                          "LIKE $1 AND m.memory_type = 'user_preference' AND m.key IN ('preferred_mood', "
                          "'preferred_colors')",
                          prefix);
    if (!res) return -1;
    for (int i = 0; i < PQntuples(res); i++) {
        long ev = 0, images = 0;
        parse_int(PQgetvalue(res, i, 2), 0, 1L << 30, &ev);
        parse_int(PQgetvalue(res, i, 3), 0, 1L << 30, &images);
        if (ev > images) {
            if (c->evidence_over++ < 5)
                fprintf(stderr, "fault_checker: %s %s counts %ld pieces of evidence from %ld distinct image(s)\n",
                        PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), ev, images);
        }
    }
    PQclear(res);
    return 0;
}

/* Both database reads of one round, over one connection. */
static int read_database(const char *dsn, const char *prefix, counts *c) {
    PGconn *db = PQconnectdb(dsn);
    int rc = -1;
    if (PQstatus(db) != CONNECTION_OK) fprintf(stderr, "fault_checker: database: %s", PQerrorMessage(db));
    else rc = read_db(db, prefix, c) == 0 && read_evidence(db, prefix) == 0 && read_image_evidence(db, prefix, c) == 0
                  ? 0
                  : -1;
    PQfinish(db);
    return rc;
}

static void tally(counts *c) {
    c->sent = (long)n_reqs;
    for (size_t i = 0; i < n_reqs; i++) {
        request *r = &reqs[i];
        if (r->decisions > 0) c->decided++;
        if (r->decisions > 1) c->redelivered_dups += r->decisions - 1;
        if (r->decisions == 0 && r->dead > 0) c->dead_lettered_requests++;
        else if (r->decisions == 0) c->lost++;
        if (r->images) {
            c->with_images++;
            c->images_expected += r->images;
            if (r->enrich_distinct >= r->images) c->fully_enriched++;
        }
        c->enrich_msgs += r->enrich_msgs;
        c->enrich_distinct += r->enrich_distinct;
        c->enrich_dups += r->enrich_msgs - r->enrich_distinct;
        c->fanouts += r->fanouts;
        if (r->fanouts > r->images) c->reanalysed += r->fanouts - r->images;
        if (r->decisions > 0 && r->messages_rows < 2) c->messages_missing++;
        if (r->decisions > 0 && r->evidence == 0) c->effects_missing++;
        if (r->evidence > 1) c->effects_dup += r->evidence - 1;
    }
    for (size_t i = 0; i < n_fans; i++)
        if (fans[i].rows == 0 && reqs[fans[i].req].dead == 0) c->facts_lost++;
        else if (fans[i].rows > 0 && !fans[i].covered) c->enrich_missing++;
    for (size_t i = 0; i < n_reasons; i++)
        if (!reasons[i].allowed) c->dlq_unexplained += reasons[i].count;
}

static int missing(const counts *c) {
    return c->lost || c->messages_missing || c->effects_missing || c->facts_lost || c->enrich_missing;
}

int main(int argc, char **argv) {
    const char *prefix = NULL, *file = NULL, *allow = "";
    long wait_ms = 0;
    int images_once = 0, evidence_once = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--prefix") == 0 && i + 1 < argc) prefix = argv[++i];
        else if (strcmp(argv[i], "--requests") == 0 && i + 1 < argc) file = argv[++i];
        else if (strcmp(argv[i], "--allow-dlq") == 0 && i + 1 < argc) allow = argv[++i];
        else if (strcmp(argv[i], "--images-once") == 0) images_once = 1;
        else if (strcmp(argv[i], "--evidence-once") == 0) evidence_once = 1;
        else if (strcmp(argv[i], "--wait-ms") == 0 && i + 1 < argc && parse_int(argv[i + 1], 0, 3600000, &wait_ms) == 0)
            i++;
        else {
            fprintf(stderr, "usage: fault_checker --prefix P --requests FILE [--wait-ms N] [--allow-dlq a,b] "
                            "[--images-once] [--evidence-once]\n");
            return 2;
        }
    }
    if (!prefix || !file) {
        fprintf(stderr, "usage: fault_checker --prefix P --requests FILE [--wait-ms N] [--allow-dlq a,b]\n");
        return 2;
    }
    const char *dsn = bf_test_pg_dsn();
    if (load_requests(file) != 0) return 2;
    int64_t deadline = bf_test_now_ms() + wait_ms;
    counts c;
    int round = 0;
    for (;;) {
        memset(&c, 0, sizeof c);
        reset();
        round++;
        int64_t left = deadline - bf_test_now_ms();
        read_topics(prefix, allow, 3000, (int)(left > 10000 ? left : 10000), &c);
        if (read_database(dsn, prefix, &c) != 0) return 2;
        tally(&c);
        if (!missing(&c) || bf_test_now_ms() >= deadline) break;
        fprintf(stderr, "fault_checker: round %d: %ld lost, %ld without messages, %ld without memory, %ld facts "
                        "missing, %ld facts not yet at the brain; reading again\n",
                round, c.lost, c.messages_missing, c.effects_missing, c.facts_lost, c.enrich_missing);
        bf_test_sleep_ms(3000);
    }
    printf("sent                          %ld\n", c.sent);
    printf("decided                       %ld\n", c.decided);
    printf("lost (no decision, no DLQ)    %ld\n", c.lost);
    printf("dead-lettered requests        %ld\n", c.dead_lettered_requests);
    printf("redelivered duplicate decisions %ld\n", c.redelivered_dups);
    long with_error = 0;
    for (size_t i = 0; i < n_decision_errors; i++) with_error += decision_errors[i].count;
    printf("decisions with an error       %ld\n", with_error);
    for (size_t i = 0; i < n_decision_errors; i++)
        printf("  decision error %-24s %d\n", decision_errors[i].code, decision_errors[i].count);
    printf("requests with images          %ld (%ld images)\n", c.with_images, c.images_expected);
    printf("image fan-outs (trace ids)    %ld (re-analysed on redelivery: %ld)\n", c.fanouts, c.reanalysed);
    printf("image facts rows              %ld (lost: %ld, duplicated: %ld)\n", c.facts_rows, c.facts_lost, c.facts_dup);
    printf("enrichments                   %ld (distinct %ld, redelivered duplicates %ld; requests fully enriched %ld/%ld)\n",
           c.enrich_msgs, c.enrich_distinct, c.enrich_dups, c.fully_enriched, c.with_images);
    printf("persisted facts never reaching the brain (no enrichment, not in a decision) %ld\n", c.enrich_missing);
    printf("decided without messages rows %ld\n", c.messages_missing);
    printf("memory effects missing        %ld\n", c.effects_missing);
    printf("duplicated DB effects         %ld\n", c.effects_dup + c.facts_dup);
    printf("image evidence over distinct images %ld%s\n", c.evidence_over, evidence_once ? "" : " (not checked)");
    printf("dead letters                  %ld (unexplained %ld)\n", c.dlq_total, c.dlq_unexplained);
    for (size_t i = 0; i < n_reasons; i++)
        printf("  dead letter %-24s from %-24s %d%s\n", reasons[i].code, reasons[i].topic, reasons[i].count,
               reasons[i].allowed ? " (allowed)" : "");
    if (c.undecodable || c.foreign_decisions)
        printf("undecodable %ld, decisions for unknown requests %ld\n", c.undecodable, c.foreign_decisions);
    printf("{\"sent\":%ld,\"decided\":%ld,\"lost\":%ld,\"dead_lettered\":%ld,\"redelivered_duplicate_decisions\":%ld,"
           "\"decisions_with_error\":%ld,\"fanouts\":%ld,\"reanalysed\":%ld,\"facts_rows\":%ld,\"facts_lost\":%ld,\"enrichments\":%ld,"
           "\"enrichment_duplicates\":%ld,\"fully_enriched\":%ld,\"with_images\":%ld,\"messages_missing\":%ld,"
           "\"enrichments_missing\":%ld,\"effects_missing\":%ld,\"duplicated_db_effects\":%ld,\"dead_letters\":%ld,\"unexplained_dead_letters\":%ld,\"image_evidence_over\":%ld}\n",
           c.sent, c.decided, c.lost, c.dead_lettered_requests, c.redelivered_dups, with_error, c.fanouts, c.reanalysed, c.facts_rows,
           c.facts_lost, c.enrich_msgs, c.enrich_dups, c.fully_enriched, c.with_images, c.messages_missing,
           c.enrich_missing, c.effects_missing, c.effects_dup + c.facts_dup, c.dlq_total, c.dlq_unexplained, c.evidence_over);
    int fail = missing(&c) || c.effects_dup || c.facts_dup || c.dlq_unexplained || c.undecodable ||
               (images_once && c.reanalysed) || (evidence_once && c.evidence_over);
    printf("RESULT %s\n", fail ? "FAIL" : "PASS");
    reset();
    free(reqs);
    free(fans);
    free(seen_ids);
    return fail ? 1 : 0;
}

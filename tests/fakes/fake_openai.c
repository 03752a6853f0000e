/* fake_openai: an OpenAI-compatible chat completions server for tests and the local demo, plus a
 * small static file server for test images. One process serves many test cases at once: every
 * behaviour set by a flag can be overridden per request with an X-Fake-* header.
 *
 * Threads: libmicrohttpd runs one thread per connection, so a delayed or never-ending answer only
 * holds its own thread. Sleeps wait on a condition variable that shutdown broadcasts, so SIGTERM
 * ends the process promptly even with "timeout" requests pending.
 *
 * Every chat request is checked against OpenAI's published schema of CreateChatCompletionRequest
 * (tests/fakes/openai, compiled in) and answered 400 with the violation when it breaks it, so a
 * test whose worker sends a wrong request fails. Answers are plain content (JSON mode, vision) or
 * function calls (a request with tools), valid or broken in the ways real models break them
 * (--answer, --answer-mix), with the repair round recognised (--repair-answer).
 *
 * Tests start it as a subprocess (tests/support/bf_fake_server.h): with --port 0 it prints
 * "fake_openai listening on http://127.0.0.1:<port>" as its first stdout line. Run --help for
 * the flags and headers. */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bf_backoff.h"
#include "bf_embed.h"
#include "bf_json_schema.h"

/* The JSON files of tests/fakes/openai, compiled in by cmake/embed_files.cmake. */
extern const bf_embedded_file fake_openai_schema_files[];
extern const size_t fake_openai_schema_files_n;

#define MAX_BODY ((size_t)64 << 20)
#define MAX_KEYS 4096
#define NEVER_MS (10LL * 60 * 1000)

typedef enum {
    M_OK = 0, M_500, M_429, M_MALFORMED, M_TRUNCATED, M_GARBAGE, M_TIMEOUT, M_EMPTY,
    M_SLOW, M_WRONG_TYPE,
} fake_mode;

static const char *const mode_names[] = {"ok",    "500",     "429",   "malformed", "truncated",
                                         "garbage", "timeout", "empty", "slow",      "wrong-type"};
#define N_MODES (sizeof mode_names / sizeof mode_names[0])

/* What a successful chat answer holds. auto: function calls when the request offers tools, else
 * content. The broken kinds break it the way real models do. */
typedef enum {
    A_AUTO = 0, A_CONTENT, A_TOOL, A_WRONG_ARG_TYPE, A_INVENTED_IMAGE, A_UNKNOWN_SCENE, A_TWO_CALLS, A_REFUSAL,
    A_LENGTH, A_CONTENT_AND_CALLS, A_ARGS_NOT_JSON, A_UNKNOWN_TOOL, A_TEXT,
} answer_kind;

static const char *const answer_names[] = {"auto",          "content",        "tool",          "wrong-arg-type",
                                           "invented-image", "unknown-scene", "two-calls",     "refusal",
                                           "length",        "content-and-calls", "args-not-json", "unknown-tool",
                                           "text"};
#define N_ANSWERS (sizeof answer_names / sizeof answer_names[0])

/* --fault-mix / --answer-mix: a share of chat requests per mode or answer kind, drawn per request. */
#define MAX_MIX 12
typedef struct mix_part {
    int mode; /* a fake_mode, or an answer_kind */
    double rate;
} mix_part;

/* A 429 answer remembered by request body, to see when the same request comes back. */
#define MAX_PENDING_429 4096
typedef struct pending_429 {
    uint64_t body_hash;
    long long at_ms, retry_after_ms;
} pending_429;

typedef struct fail_key {
    char key[64];
    long seen;
} fail_key;

typedef struct fake {
    /* Configuration (read-only once serving). */
    const char *bind;
    long port;
    const char *content;      /* fixed message content; NULL: echo or default */
    bool echo;
    const char *record_dir;
    const char *images_dir;
    long latency_ms, latency_jitter_ms;
    double error_rate;
    mix_part mix[MAX_MIX];
    size_t n_mix;
    long hold_ms;             /* how long "timeout" holds a request before closing it unanswered */
    fake_mode mode;
    const char *retry_after;
    long slow_chunk_ms, slow_chunk_bytes;
    unsigned max_connections;
    bool check_requests;        /* every chat request against CreateChatCompletionRequest */
    bf_json_schema *request_schema;
    answer_kind answer;
    mix_part answer_mix[MAX_MIX];
    size_t n_answer_mix;
    answer_kind repair_answer;  /* A_AUTO: drawn like any request */
    const char *tool_calls;     /* --tool-calls: the calls of a "tool" answer */
    /* Shared state, guarded by mu (counters are atomics). */
    pthread_mutex_t mu;
    pthread_cond_t stop_cv;
    bool stopping;
    bf_rng rng;
    fail_key keys[MAX_KEYS];
    size_t n_keys;
    pending_429 pending[MAX_PENDING_429];
    size_t n_pending, next_pending;
    atomic_long requests, chats, recorded;
    atomic_long by_mode[N_MODES];          /* chat answers per mode (X-Fake-Status ones not counted) */
    atomic_long by_answer[N_ANSWERS];      /* 200 answers per kind */
    atomic_long schema_rejections, repair_requests;
    atomic_long retries_after_429, early_retries_after_429, min_gap_after_429_ms;
    atomic_long images_not_modified;       /* 304s to conditional image GETs */
} fake;

typedef struct upload {
    char *buf;
    size_t len, cap;
    bool too_big;
} upload;

static void usage(FILE *out) {
    fputs(
        "usage: fake_openai [flags]\n"
        "An OpenAI-compatible fake: POST /v1/chat/completions, GET /images/<name>,\n"
        "GET /redirect?to=<url> (302), GET /_fake/stats and /_fake/answers (JSON counters).\n"
        "\n"
        "flags:\n"
        "  --bind ADDR            address to listen on (default 127.0.0.1)\n"
        "  --port N               port; 0 picks a free one (default 0). The first stdout line is\n"
        "                         \"fake_openai listening on http://ADDR:PORT\"\n"
        "  --content TEXT         message content of every completion\n"
        "  --content-file PATH    same, read from a file (e.g. a JSON decision)\n"
        "  --echo                 content = the text of the request's last message\n"
        "                         (default content when none of the three: {\"ok\":true})\n"
        "                         env FAKE_OPENAI_CONTENT is used when no flag sets the content\n"
        "  --record-dir DIR       write every chat request body to DIR/000001.json, 000002.json ...\n"
        "  --images-dir DIR       serve DIR/<name> under GET /images/<name>\n"
        "  --latency-ms N         delay before each answer (default 0)\n"
        "  --latency-jitter-ms N  plus a random 0..N ms\n"
        "  --error-rate P         answer this share (0..1) of chat requests with a 500\n"
        "  --fault-mix MODE=P,... answer these shares of chat requests with these modes, e.g.\n"
        "                         429=0.1,500=0.1,timeout=0.1 (any mode but ok; each P in 0..1,\n"
        "                         a mode at most once, shares summing to at most 1); not with\n"
        "                         --error-rate (write 500=P). X-Fake-* headers still override it\n"
        "  --hold-ms N            how long timeout mode holds a request before closing the\n"
        "                         connection unanswered (default 600000: longer than any client\n"
        "                         waits; set it above the client's timeout)\n"
        "  --mode MODE            default behaviour: ok | 500 | 429 | malformed | truncated |\n"
        "                         garbage | timeout | empty | slow | wrong-type\n"
        "  --retry-after VALUE    Retry-After sent with 429s (seconds or HTTP date; default 1)\n"
        "  --slow-chunk-ms N      slow mode: pause between body chunks (default 200)\n"
        "  --slow-chunk-bytes N   slow mode: bytes per chunk (default 16)\n"
        "  --max-connections N    concurrent connections (default 1024)\n"
        "  --seed N               seed of the error-rate/jitter PRNG (default 1)\n",
        out);
    /* Two pieces: C17 compilers need not take string literals over 4095 bytes. */
    fputs(
        "  --answer KIND          what a 200 answer holds (default auto): auto | content | tool |\n"
        "                         wrong-arg-type | invented-image | unknown-scene | two-calls |\n"
        "                         refusal | length | content-and-calls | args-not-json |\n"
        "                         unknown-tool | text\n"
        "  --answer-mix KIND=P,...  these shares of 200 answers as these kinds (the rest --answer),\n"
        "                         e.g. wrong-arg-type=0.05,unknown-scene=0.05,refusal=0.05,length=0.05\n"
        "  --repair-answer KIND   the kind of every answer to a repair request (one that carries a\n"
        "                         tool result, or an assistant turn before the last user message);\n"
        "                         default: drawn like any other request\n"
        "  --tool-calls JSON      the calls of a tool answer: [{\"name\":...,\"arguments\":{...}}, ...]\n"
        "                         (default: one addScene with an instruction and a summary)\n"
        "  --no-request-check     accept chat requests that are not valid CreateChatCompletionRequests\n"
        "                         (transport tests posting placeholder bodies)\n"
        "  --help                 this text\n"
        "\n"
        "modes: 500 and 429 are error answers (429 carries Retry-After); malformed is a cut-off\n"
        "JSON document with status 200; truncated declares a longer Content-Length and closes\n"
        "early; garbage is a valid completion whose content is not JSON; timeout never answers;\n"
        "empty is a 200 with no body; slow trickles the body; wrong-type labels it text/html.\n"
        "\n"
        "answers: auto is function calls when the request has tools (whatever content is set),\n"
        "content otherwise; tool is --tool-calls (in JSON mode: {\"tool\",\"arguments\"} content);\n"
        "wrong-arg-type sends duration_ms as a string; invented-image an image_url of no request;\n"
        "unknown-scene a scene_id of no storyboard; two-calls two valid calls (a workflow);\n"
        "refusal message.refusal; length half the arguments and finish_reason length;\n"
        "content-and-calls a different decision as content beside the valid calls; args-not-json\n"
        "arguments that do not parse; unknown-tool a function never offered; text prose only.\n"
        "A request that breaks the OpenAI schema gets a 400 whose error.message names the problem.\n"
        "GET /_fake/answers counts 200 answers per kind (\"answers\"), \"repair_requests\" and\n"
        "\"schema_rejections\".\n"
        "\n"
        "GET /_fake/stats counts chat answers per mode (\"modes\") and, for 429s, the same request\n"
        "body coming back: \"retries_after_429\", \"early_retries_after_429\" (sooner than its\n"
        "Retry-After in seconds) and \"min_gap_after_429_ms\" (-1: none yet); \"images_not_modified\"\n"
        "counts 304 answers to conditional image GETs.\n"
        "\n"
        "images: GET /images/<name> serves the file as it is on disk now, with a strong ETag of\n"
        "its bytes and Last-Modified from its mtime; If-None-Match (or, without it,\n"
        "If-Modified-Since) that still matches gets 304. A test changes an image by rewriting the\n"
        "file (new bytes: new ETag; set the mtime for Last-Modified). The worker sends no\n"
        "X-Fake-* headers, so the image URL's query takes their place: fake-mode, fake-latency-ms,\n"
        "fake-status, and fake-validators=etag|last-modified|none (default: both).\n"
        "\n"
        "per-request headers (override the flags):\n"
        "  X-Fake-Mode: MODE          behaviour for this request\n"
        "  X-Fake-Fail-First: N       apply X-Fake-Mode only to the first N requests carrying\n"
        "  X-Fake-Key: KEY            the same key, then answer normally (retry tests)\n"
        "  X-Fake-Latency-Ms: N       delay for this request\n"
        "  X-Fake-Retry-After: VALUE  Retry-After for this request's 429\n"
        "  X-Fake-Content: TEXT       completion content for this request\n"
        "  X-Fake-Status: N           answer with this status (and a small JSON error body)\n"
        "  X-Fake-Answer: KIND        the answer kind for this request\n"
        "  X-Fake-Tool-Calls: JSON    the calls of this request's tool answer\n",
        out);
}

/* ---- helpers --------------------------------------------------------------------------------- */

static int parse_long(const char *s, long min, long max, long *out) {
    char *end = NULL;
    errno = 0;
    long v = strtol(s ? s : "", &end, 10);
    if (!s || !*s || errno != 0 || *end != '\0' || v < min || v > max) return -1;
    *out = v;
    return 0;
}

static int parse_mode(const char *s, fake_mode *out) {
    for (size_t i = 0; i < N_MODES; i++)
        if (s && strcmp(s, mode_names[i]) == 0) {
            *out = (fake_mode)i;
            return 0;
        }
    return -1;
}

static int parse_rate(const char *s, double *out) {
    char *end = NULL;
    errno = 0;
    double p = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(p >= 0 && p <= 1)) return -1;
    *out = p;
    return 0;
}

static int parse_answer(const char *s, answer_kind *out) {
    for (size_t i = 0; i < N_ANSWERS; i++)
        if (s && strcmp(s, answer_names[i]) == 0) {
            *out = (answer_kind)i;
            return 0;
        }
    return -1;
}

/* A mix entry's name: a failure mode (fault mix) or an answer kind other than auto (answer mix). */
static int parse_mix_name(bool answers, const char *s, int *out) {
    if (answers) {
        answer_kind k;
        if (parse_answer(s, &k) != 0 || k == A_AUTO) return -1;
        *out = (int)k;
        return 0;
    }
    fake_mode m;
    if (parse_mode(s, &m) != 0 || m == M_OK) return -1;
    *out = (int)m;
    return 0;
}

/* "NAME=P,NAME=P,...": fills mix/n; on error writes why to err and returns -1. */
static int parse_mix(bool answers, mix_part *mix, size_t *n_mix, const char *spec, char *err, size_t errlen) {
    char buf[256];
    if (snprintf(buf, sizeof buf, "%s", spec) >= (int)sizeof buf) {
        snprintf(err, errlen, "too long");
        return -1;
    }
    *n_mix = 0;
    double sum = 0;
    char *save = NULL;
    for (char *part = strtok_r(buf, ",", &save); part; part = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(part, '=');
        if (!eq) {
            snprintf(err, errlen, "'%s': expected MODE=SHARE", part);
            return -1;
        }
        *eq = '\0';
        mix_part m;
        if (parse_mix_name(answers, part, &m.mode) != 0) {
            snprintf(err, errlen, "'%s': not %s (see --help)", part,
                     answers ? "an answer kind other than auto" : "a failure mode");
            return -1;
        }
        if (parse_rate(eq + 1, &m.rate) != 0) {
            snprintf(err, errlen, "%s='%s': expected a share in 0..1", part, eq + 1);
            return -1;
        }
        for (size_t i = 0; i < *n_mix; i++)
            if (mix[i].mode == m.mode) {
                snprintf(err, errlen, "%s given twice", part);
                return -1;
            }
        if (*n_mix == MAX_MIX) {
            snprintf(err, errlen, "more than %d modes", MAX_MIX);
            return -1;
        }
        sum += m.rate;
        mix[(*n_mix)++] = m;
    }
    if (*n_mix == 0) {
        snprintf(err, errlen, "empty; expected e.g. 429=0.1,500=0.1,timeout=0.1");
        return -1;
    }
    if (sum > 1 + 1e-9) {
        snprintf(err, errlen, "shares sum to %.3f, more than 1", sum);
        return -1;
    }
    return 0;
}

static long long mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t fnv1a(const char *p, size_t n) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
    return h;
}

/* A chat request came in: if the same body got a 429 before, count the retry and its gap. */
static void note_retry(fake *f, uint64_t hash) {
    long long now = mono_ms();
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < f->n_pending; i++) {
        pending_429 *p = &f->pending[i];
        if (p->body_hash != hash || p->at_ms < 0) continue;
        long long gap = now - p->at_ms;
        atomic_fetch_add(&f->retries_after_429, 1);
        if (gap < p->retry_after_ms) atomic_fetch_add(&f->early_retries_after_429, 1);
        long min = atomic_load(&f->min_gap_after_429_ms);
        if (min < 0 || gap < min) atomic_store(&f->min_gap_after_429_ms, (long)gap);
        p->at_ms = -1; /* one retry per 429 */
        break;
    }
    pthread_mutex_unlock(&f->mu);
}

/* Remembers a 429 answered to this body (a ring: the oldest is forgotten first). */
static void note_429(fake *f, uint64_t hash, const char *retry_after) {
    char *end = NULL;
    long secs = retry_after ? strtol(retry_after, &end, 10) : 0;
    long long ra_ms = retry_after && end != retry_after && *end == '\0' && secs >= 0 ? (long long)secs * 1000 : 0;
    pthread_mutex_lock(&f->mu);
    f->pending[f->next_pending] = (pending_429){hash, mono_ms(), ra_ms};
    f->next_pending = (f->next_pending + 1) % MAX_PENDING_429;
    if (f->n_pending < MAX_PENDING_429) f->n_pending++;
    pthread_mutex_unlock(&f->mu);
}

/* Sleeps ms, or less when the server stops; returns false when it is stopping. */
static bool fake_sleep(fake *f, long long ms) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)(ms / 1000);
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&f->mu);
    while (!f->stopping) {
        if (pthread_cond_timedwait(&f->stop_cv, &f->mu, &until) == ETIMEDOUT) break;
    }
    bool running = !f->stopping;
    pthread_mutex_unlock(&f->mu);
    return running;
}

static int64_t random_upto(fake *f, int64_t n) {
    pthread_mutex_lock(&f->mu);
    int64_t v = bf_rng_upto(&f->rng, n);
    pthread_mutex_unlock(&f->mu);
    return v;
}

/* Counts one request under key; returns how many came before it. */
static long key_seen(fake *f, const char *key) {
    long seen = 0;
    pthread_mutex_lock(&f->mu);
    size_t i = 0;
    for (; i < f->n_keys; i++)
        if (strcmp(f->keys[i].key, key) == 0) break;
    if (i == f->n_keys && f->n_keys < MAX_KEYS) {
        snprintf(f->keys[i].key, sizeof f->keys[i].key, "%s", key);
        f->n_keys++;
    }
    if (i < f->n_keys) seen = f->keys[i].seen++;
    pthread_mutex_unlock(&f->mu);
    return seen;
}

static char *read_file(const char *path, size_t *len) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            char *b = realloc(buf, cap);
            if (!b) {
                free(buf);
                fclose(fp);
                return NULL;
            }
            buf = b;
        }
        size_t got = fread(buf + n, 1, 4096, fp);
        n += got;
        if (got < 4096) break;
    }
    fclose(fp);
    buf[n] = '\0';
    *len = n;
    return buf;
}

static void record(fake *f, const char *body, size_t len) {
    if (!f->record_dir) return;
    long seq = atomic_fetch_add(&f->recorded, 1) + 1;
    char tmp[4096], path[4096];
    snprintf(tmp, sizeof tmp, "%s/.%06ld.tmp", f->record_dir, seq);
    snprintf(path, sizeof path, "%s/%06ld.json", f->record_dir, seq);
    FILE *fp = fopen(tmp, "wb");
    if (!fp) return;
    bool ok = fwrite(body, 1, len, fp) == len;
    ok = fclose(fp) == 0 && ok;
    /* Readers only ever see complete files. */
    if (ok) rename(tmp, path);
    else remove(tmp);
}

/* ---- responses ------------------------------------------------------------------------------- */

static enum MHD_Result send_buf(struct MHD_Connection *c, unsigned status, const char *type, const char *body,
                                size_t len, const char *retry_after) {
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    if (type) MHD_add_response_header(r, "Content-Type", type);
    if (retry_after) MHD_add_response_header(r, "Retry-After", retry_after);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *body) {
    return send_buf(c, status, "application/json", body, strlen(body), NULL);
}

typedef struct trickle {
    fake *f;
    char *body;
    size_t len;
    size_t stop_at;     /* truncated: the error ends the body here */
    long chunk_ms, chunk_bytes;
} trickle;

static ssize_t trickle_read(void *cls, uint64_t pos, char *buf, size_t max) {
    trickle *t = cls;
    if (pos >= t->stop_at) return t->stop_at < t->len ? MHD_CONTENT_READER_END_WITH_ERROR : MHD_CONTENT_READER_END_OF_STREAM;
    if (t->chunk_ms > 0 && pos > 0 && !fake_sleep(t->f, t->chunk_ms)) return MHD_CONTENT_READER_END_WITH_ERROR;
    size_t n = t->stop_at - (size_t)pos;
    if (t->chunk_ms > 0 && n > (size_t)t->chunk_bytes) n = (size_t)t->chunk_bytes;
    if (n > max) n = max;
    memcpy(buf, t->body + pos, n);
    return (ssize_t)n;
}

static void trickle_free(void *cls) {
    trickle *t = cls;
    free(t->body);
    free(t);
}

/* Takes ownership of body. slow: trickle it; truncated: declare len, send half, then fail. */
static enum MHD_Result send_special(fake *f, struct MHD_Connection *c, const char *type, char *body, size_t len,
                                    bool slow, bool truncated) {
    trickle *t = calloc(1, sizeof *t);
    if (!t) {
        free(body);
        return MHD_NO;
    }
    *t = (trickle){f, body, len, truncated ? len / 2 : len, slow ? f->slow_chunk_ms : 0, f->slow_chunk_bytes};
    struct MHD_Response *r = MHD_create_response_from_callback(len, 4096, trickle_read, t, trickle_free);
    if (!r) {
        trickle_free(t);
        return MHD_NO;
    }
    if (type) MHD_add_response_header(r, "Content-Type", type);
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

/* The text of the last message: a string content, or its text parts joined (vision requests). */
static char *last_message_text(const char *body, size_t len) {
    cJSON *root = cJSON_ParseWithLength(body, len);
    cJSON *msgs = cJSON_GetObjectItemCaseSensitive(root, "messages");
    cJSON *last = cJSON_IsArray(msgs) ? cJSON_GetArrayItem(msgs, cJSON_GetArraySize(msgs) - 1) : NULL;
    cJSON *content = cJSON_GetObjectItemCaseSensitive(last, "content");
    char *out = NULL;
    if (cJSON_IsString(content)) {
        out = strdup(content->valuestring);
    } else if (cJSON_IsArray(content)) {
        size_t cap = 1, n = 0;
        out = calloc(1, 1);
        const cJSON *part;
        cJSON_ArrayForEach(part, content) {
            const cJSON *text = cJSON_GetObjectItemCaseSensitive(part, "text");
            if (!cJSON_IsString(text) || !out) continue;
            size_t tl = strlen(text->valuestring);
            char *o = realloc(out, cap + tl);
            if (!o) break;
            out = o;
            memcpy(out + n, text->valuestring, tl + 1);
            n += tl;
            cap += tl;
        }
    }
    cJSON_Delete(root);
    return out ? out : strndup(body, len);
}

/* A chat completion. content may be NULL (then null); refusal NULL: absent; calls NULL: none. */
static char *completion_json(long id, const char *model, const char *content, const char *refusal, cJSON *calls,
                             const char *finish, size_t prompt_len) {
    cJSON *root = cJSON_CreateObject();
    char idtext[64];
    snprintf(idtext, sizeof idtext, "chatcmpl-fake-%ld", id);
    cJSON_AddStringToObject(root, "id", idtext);
    cJSON_AddStringToObject(root, "object", "chat.completion");
    cJSON_AddNumberToObject(root, "created", (double)time(NULL));
    cJSON_AddStringToObject(root, "model", model ? model : "fake-model");
    cJSON *choices = cJSON_AddArrayToObject(root, "choices");
    cJSON *choice = cJSON_CreateObject();
    cJSON_AddItemToArray(choices, choice);
    cJSON_AddNumberToObject(choice, "index", 0);
    cJSON *msg = cJSON_AddObjectToObject(choice, "message");
    cJSON_AddStringToObject(msg, "role", "assistant");
    if (content) cJSON_AddStringToObject(msg, "content", content);
    else cJSON_AddNullToObject(msg, "content");
    if (refusal) cJSON_AddStringToObject(msg, "refusal", refusal);
    else cJSON_AddNullToObject(msg, "refusal");
    size_t out_len = content ? strlen(content) : refusal ? strlen(refusal) : 0;
    if (calls) {
        char *t = cJSON_PrintUnformatted(calls);
        out_len += t ? strlen(t) : 0;
        free(t);
        cJSON_AddItemToObject(msg, "tool_calls", calls);
    }
    cJSON_AddStringToObject(choice, "finish_reason", finish ? finish : calls ? "tool_calls" : "stop");
    cJSON_AddNullToObject(choice, "logprobs");
    cJSON *usage = cJSON_AddObjectToObject(root, "usage");
    /* Roughly four bytes per token, like the real tokenisers on English text. */
    double pt = (double)(prompt_len / 4 + 1), ct = (double)(out_len / 4 + 1);
    cJSON_AddNumberToObject(usage, "prompt_tokens", pt);
    cJSON_AddNumberToObject(usage, "completion_tokens", ct);
    cJSON_AddNumberToObject(usage, "total_tokens", pt + ct);
    char *out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return out;
}

/* ---- function-call answers ------------------------------------------------------------------- */

static const char default_calls[] =
    "[{\"name\":\"addScene\",\"arguments\":{\"instruction\":\"Add the scene the user asked for.\","
    "\"summary\":\"Add a new scene as asked.\"}}]";

/* Whether a request is the repair round: it carries a tool result, or the model's own turn before
 * the last user message. */
static bool is_repair(const cJSON *req) {
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(req, "messages");
    bool assistant = false;
    const cJSON *m;
    cJSON_ArrayForEach(m, msgs) {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        if (!cJSON_IsString(role)) continue;
        if (strcmp(role->valuestring, "tool") == 0) return true;
        if (strcmp(role->valuestring, "assistant") == 0) assistant = true;
        else if (strcmp(role->valuestring, "user") == 0 && assistant) return true;
    }
    return false;
}

/* The calls of a kind: [{name, arguments (object, or a string sent as is)}]. NULL when none. */
static cJSON *calls_for(answer_kind k, const char *configured) {
    cJSON *valid = cJSON_Parse(configured && *configured ? configured : default_calls);
    if (!cJSON_IsArray(valid) || cJSON_GetArraySize(valid) == 0) {
        cJSON_Delete(valid);
        valid = cJSON_Parse(default_calls);
    }
    cJSON *first = cJSON_GetArrayItem(valid, 0);
    switch (k) {
    case A_TOOL:
    case A_CONTENT_AND_CALLS:
        return valid;
    case A_TWO_CALLS:
        if (cJSON_GetArraySize(valid) < 2) cJSON_AddItemToArray(valid, cJSON_Duplicate(first, true));
        return valid;
    case A_WRONG_ARG_TYPE:
        cJSON_Delete(valid);
        return cJSON_Parse("[{\"name\":\"addScene\",\"arguments\":{\"instruction\":\"Add a scene.\","
                           "\"duration_ms\":\"5000\",\"summary\":\"Add a scene.\"}}]");
    case A_INVENTED_IMAGE:
        cJSON_Delete(valid);
        return cJSON_Parse("[{\"name\":\"analyzeImage\",\"arguments\":{\"image_url\":"
                           "\"https://invented.example.com/not-uploaded.png\",\"summary\":\"Analyse it.\"}}]");
    case A_UNKNOWN_SCENE:
        cJSON_Delete(valid);
        return cJSON_Parse("[{\"name\":\"editScene\",\"arguments\":{\"scene_id\":\"no-such-scene\","
                           "\"instruction\":\"Make it pop.\",\"summary\":\"Edit the scene.\"}}]");
    case A_UNKNOWN_TOOL:
        cJSON_Delete(valid);
        return cJSON_Parse("[{\"name\":\"launchRocket\",\"arguments\":{\"target\":\"moon\"}}]");
    case A_ARGS_NOT_JSON:
        cJSON_Delete(valid);
        return cJSON_Parse("[{\"name\":\"addScene\",\"arguments\":\"{instruction: add a scene, summary: ok\"}]");
    case A_LENGTH: {
        /* The first call's arguments cut in the middle, as a token limit does. */
        cJSON *args = cJSON_GetObjectItemCaseSensitive(first, "arguments");
        char *text = cJSON_IsString(args) ? strdup(args->valuestring) : cJSON_PrintUnformatted(args);
        if (text) text[strlen(text) / 2] = '\0';
        cJSON *out = cJSON_CreateArray();
        cJSON *one = cJSON_CreateObject();
        cJSON_AddItemToArray(out, one);
        cJSON_AddStringToObject(one, "name", cJSON_GetObjectItemCaseSensitive(first, "name")->valuestring);
        cJSON_AddStringToObject(one, "arguments", text ? text : "{");
        free(text);
        cJSON_Delete(valid);
        return out;
    }
    default:
        cJSON_Delete(valid);
        return NULL;
    }
}

/* calls as message.tool_calls (arguments as JSON text). */
static cJSON *tool_calls_json(const cJSON *calls) {
    cJSON *out = cJSON_CreateArray();
    int i = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, calls) {
        cJSON *tc = cJSON_CreateObject();
        char id[32];
        snprintf(id, sizeof id, "call_fake_%d", ++i);
        cJSON_AddStringToObject(tc, "id", id);
        cJSON_AddStringToObject(tc, "type", "function");
        cJSON *fn = cJSON_AddObjectToObject(tc, "function");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(c, "name");
        const cJSON *args = cJSON_GetObjectItemCaseSensitive(c, "arguments");
        cJSON_AddStringToObject(fn, "name", cJSON_IsString(name) ? name->valuestring : "");
        char *text = cJSON_IsString(args) ? strdup(args->valuestring) : cJSON_PrintUnformatted(args);
        cJSON_AddStringToObject(fn, "arguments", text ? text : "{}");
        free(text);
        cJSON_AddItemToArray(out, tc);
    }
    return out;
}

/* calls as JSON-mode content: {"tool","arguments"} or {"calls":[...]}. */
static char *json_mode_content(const cJSON *calls) {
    cJSON *list = cJSON_CreateArray();
    const cJSON *c;
    cJSON_ArrayForEach(c, calls) {
        cJSON *one = cJSON_CreateObject();
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(c, "name");
        const cJSON *args = cJSON_GetObjectItemCaseSensitive(c, "arguments");
        cJSON_AddStringToObject(one, "tool", cJSON_IsString(name) ? name->valuestring : "");
        cJSON_AddItemToObject(one, "arguments", cJSON_Duplicate(args, true));
        cJSON_AddItemToArray(list, one);
    }
    char *out;
    if (cJSON_GetArraySize(list) == 1) {
        out = cJSON_PrintUnformatted(cJSON_GetArrayItem(list, 0));
    } else {
        cJSON *wrap = cJSON_CreateObject();
        cJSON_AddItemToObject(wrap, "calls", list);
        out = cJSON_PrintUnformatted(wrap);
        list = NULL;
        cJSON_Delete(wrap);
    }
    cJSON_Delete(list);
    return out;
}

/* ---- request handling ------------------------------------------------------------------------ */

typedef struct behaviour {
    fake_mode mode;
    long latency_ms;
    const char *retry_after;
    long status;  /* X-Fake-Status; 0 none */
} behaviour;

static behaviour decide(fake *f, struct MHD_Connection *c, bool chat) {
    behaviour b = {f->mode, f->latency_ms, f->retry_after, 0};
    if (f->latency_jitter_ms > 0) b.latency_ms += (long)random_upto(f, f->latency_jitter_ms);
    if (chat && f->error_rate > 0 && (double)random_upto(f, 999999) / 1000000.0 < f->error_rate) b.mode = M_500;
    if (chat && f->n_mix > 0) {
        double x = (double)random_upto(f, 999999) / 1000000.0, edge = 0;
        for (size_t i = 0; i < f->n_mix; i++) {
            edge += f->mix[i].rate;
            if (x < edge) {
                b.mode = f->mix[i].mode;
                break;
            }
        }
    }
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Fake-Mode");
    if (v) parse_mode(v, &b.mode);
    long n;
    if (parse_long(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Fake-Latency-Ms"), 0, NEVER_MS, &n) == 0)
        b.latency_ms = n;
    v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Fake-Retry-After");
    if (v) b.retry_after = v;
    if (parse_long(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Fake-Status"), 100, 599, &n) == 0)
        b.status = n;
    long first;
    if (parse_long(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Fake-Fail-First"), 0, 1000000, &first) == 0) {
        const char *key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Fake-Key");
        if (key_seen(f, key ? key : "") >= first) {
            b.mode = M_OK;
            b.status = 0;
        }
    }
    return b;
}

/* Failure modes shared by every route; returns true when it answered (ret set). */
static bool answer_failure(fake *f, struct MHD_Connection *c, const behaviour *b, enum MHD_Result *ret) {
    if (b->status) {
        char body[128];
        snprintf(body, sizeof body, "{\"error\":{\"message\":\"fake status %ld\",\"type\":\"fake\"}}", b->status);
        *ret = send_buf(c, (unsigned)b->status, "application/json", body, strlen(body),
                        b->status == 429 || b->status == 503 ? b->retry_after : NULL);
        return true;
    }
    switch (b->mode) {
    case M_500:
        *ret = send_text(c, 500, "{\"error\":{\"message\":\"fake internal error\",\"type\":\"server_error\"}}");
        return true;
    case M_429: {
        static const char body[] = "{\"error\":{\"message\":\"rate limited\",\"type\":\"rate_limit\"}}";
        *ret = send_buf(c, 429, "application/json", body, sizeof body - 1, b->retry_after);
        return true;
    }
    case M_TIMEOUT:
        fake_sleep(f, f->hold_ms);
        *ret = MHD_NO; /* close without an answer */
        return true;
    case M_EMPTY:
        *ret = send_buf(c, 200, "application/json", "", 0, NULL);
        return true;
    default:
        return false;
    }
}

/* A 400 like OpenAI's for a request that breaks the API's schema. */
static enum MHD_Result reject_request(fake *f, struct MHD_Connection *c, const char *why) {
    atomic_fetch_add(&f->schema_rejections, 1);
    fprintf(stderr, "fake_openai: 400 invalid request: %s\n", why);
    cJSON *root = cJSON_CreateObject();
    cJSON *e = cJSON_AddObjectToObject(root, "error");
    cJSON_AddStringToObject(e, "message", why);
    cJSON_AddStringToObject(e, "type", "invalid_request_error");
    cJSON_AddNullToObject(e, "param");
    cJSON_AddStringToObject(e, "code", "fake_openapi_schema");
    char *body = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    enum MHD_Result ret = body ? send_text(c, 400, body) : MHD_NO;
    free(body);
    return ret;
}

/* The answer kind of this request: its header, the repair round's, the mix, the default. */
static answer_kind pick_answer(fake *f, struct MHD_Connection *c, bool repair) {
    answer_kind k = f->answer;
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Fake-Answer");
    if (v && parse_answer(v, &k) == 0) return k;
    if (repair && f->repair_answer != A_AUTO) return f->repair_answer;
    if (f->n_answer_mix > 0) {
        double x = (double)random_upto(f, 999999) / 1000000.0, edge = 0;
        for (size_t i = 0; i < f->n_answer_mix; i++) {
            edge += f->answer_mix[i].rate;
            if (x < edge) return (answer_kind)f->answer_mix[i].mode;
        }
    }
    return k;
}

static enum MHD_Result handle_chat(fake *f, struct MHD_Connection *c, const upload *u) {
    long id = atomic_fetch_add(&f->chats, 1) + 1;
    record(f, u->buf ? u->buf : "", u->len);
    uint64_t hash = fnv1a(u->buf ? u->buf : "", u->len);
    note_retry(f, hash);
    cJSON *req = cJSON_ParseWithLength(u->buf ? u->buf : "", u->len);
    if (f->check_requests) {
        char why[1024];
        if (!req) {
            cJSON_Delete(req);
            return reject_request(f, c, "request body is not JSON");
        }
        if (bf_json_schema_check(f->request_schema, NULL, req, "request", why, sizeof why) != 0) {
            cJSON_Delete(req);
            return reject_request(f, c, why);
        }
    }
    behaviour b = decide(f, c, true);
    if (!b.status) atomic_fetch_add(&f->by_mode[b.mode], 1);
    if (b.mode == M_429 && !b.status) note_429(f, hash, b.retry_after);
    if (b.latency_ms > 0 && !fake_sleep(f, b.latency_ms)) {
        cJSON_Delete(req);
        return MHD_NO;
    }
    enum MHD_Result ret;
    if (answer_failure(f, c, &b, &ret)) {
        cJSON_Delete(req);
        return ret;
    }

    const cJSON *m = cJSON_GetObjectItemCaseSensitive(req, "model");
    char *model = cJSON_IsString(m) ? strdup(m->valuestring) : NULL;
    bool tools = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(req, "tools")) > 0;
    bool repair = is_repair(req);
    if (repair) atomic_fetch_add(&f->repair_requests, 1);
    answer_kind kind = pick_answer(f, c, repair);
    const char *hdr = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Fake-Content");
    /* One fake can serve a brain (tools offered: function calls) and a vision model (no tools: the
     * configured content) at once, as the benches and demo run it. */
    if (kind == A_AUTO) kind = tools && !hdr && b.mode != M_GARBAGE ? A_TOOL : A_CONTENT;
    atomic_fetch_add(&f->by_answer[kind], 1);

    char *content = NULL;
    const char *refusal = NULL, *finish = NULL;
    cJSON *calls = NULL;
    if (kind == A_CONTENT) {
        if (b.mode == M_GARBAGE) content = strdup("\x01\x02 definitely {not json ]] \xc3\xa9\xc3\xa9 <html>");
        else if (hdr) content = strdup(hdr);
        else if (f->echo) content = last_message_text(u->buf ? u->buf : "", u->len);
        else content = strdup(f->content ? f->content : "{\"ok\":true}");
    } else if (kind == A_REFUSAL) {
        refusal = "I'm sorry, but I can't help with that request.";
    } else if (kind == A_TEXT) {
        content = strdup("Sure! I'll add a new scene with your logo and a bold headline.");
    } else {
        const char *cfg = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Fake-Tool-Calls");
        cJSON *list = calls_for(kind, cfg ? cfg : f->tool_calls);
        if (kind == A_LENGTH) finish = "length";
        if (tools || kind == A_CONTENT_AND_CALLS) {
            calls = tool_calls_json(list);
            if (kind == A_CONTENT_AND_CALLS)
                content = strdup("{\"tool\":\"deleteScene\",\"arguments\":{\"scene_id\":\"s1\"}} Deleting it.");
        } else {
            /* JSON mode: the same calls as the answer object; cut or unparsable where they are. */
            content = kind == A_ARGS_NOT_JSON ? strdup("{tool: addScene, arguments: {instruction: add a scene}")
                                              : json_mode_content(list);
            if (content && kind == A_LENGTH) content[strlen(content) / 2] = '\0';
        }
        cJSON_Delete(list);
    }
    cJSON_Delete(req);
    char *json = completion_json(id, model, content, refusal, calls, finish, u->len);
    free(content);
    free(model);
    if (!json) return send_text(c, 500, "{\"error\":{\"message\":\"fake out of memory\"}}");
    size_t len = strlen(json);
    if (b.mode == M_MALFORMED) {
        /* Cut inside the document so no JSON parser accepts it. */
        json[len / 2] = '\0';
        len /= 2;
    }
    if (b.mode == M_TRUNCATED || b.mode == M_SLOW)
        return send_special(f, c, "application/json", json, len, b.mode == M_SLOW, b.mode == M_TRUNCATED);
    ret = send_buf(c, 200, b.mode == M_WRONG_TYPE ? "text/html" : "application/json", json, len, NULL);
    free(json);
    return ret;
}

static const char *image_type(const char *name) {
    const char *dot = strrchr(name, '.');
    if (!dot) return "application/octet-stream";
    if (strcasecmp(dot, ".png") == 0) return "image/png";
    if (strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0) return "image/jpeg";
    if (strcasecmp(dot, ".gif") == 0) return "image/gif";
    if (strcasecmp(dot, ".bmp") == 0) return "image/bmp";
    if (strcasecmp(dot, ".webp") == 0) return "image/webp";
    if (strcasecmp(dot, ".heic") == 0) return "image/heic";
    if (strcasecmp(dot, ".avif") == 0) return "image/avif";
    if (strcasecmp(dot, ".txt") == 0) return "text/plain";
    return "application/octet-stream";
}

/* What the image's URL asks of this answer: the worker that fetches it sends no X-Fake-* headers,
 * so a test puts them in the query (?fake-mode=timeout&fake-latency-ms=3000&fake-status=404). */
static void image_query_overrides(struct MHD_Connection *c, behaviour *b) {
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "fake-mode");
    if (v) parse_mode(v, &b->mode);
    long n;
    if (parse_long(MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "fake-latency-ms"), 0, NEVER_MS, &n) == 0)
        b->latency_ms = n;
    if (parse_long(MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "fake-status"), 100, 599, &n) == 0)
        b->status = n;
}

/* An image's validators: a strong ETag from its bytes (so rewriting the file with other bytes
 * changes it) and Last-Modified from the file's mtime, as a static file server sends them. */
typedef struct validators {
    char etag[24];          /* "\"<16 hex>\"" */
    char last_modified[40]; /* IMF-fixdate */
    time_t mtime;
} validators;

static void image_validators(const char *path, const char *data, size_t len, validators *v) {
    snprintf(v->etag, sizeof v->etag, "\"%016llx\"", (unsigned long long)fnv1a(data, len));
    struct stat sb;
    v->mtime = stat(path, &sb) == 0 ? sb.st_mtime : 0;
    struct tm tm;
    gmtime_r(&v->mtime, &tm);
    strftime(v->last_modified, sizeof v->last_modified, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* An IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT", what Last-Modified carries). */
static int parse_imf_date(const char *s, time_t *out) {
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    char wday[4], mon[4];
    int day, year, h, m, sec, used = 0;
    if (sscanf(s, "%3[A-Za-z], %d %3s %d %d:%d:%d GMT%n", wday, &day, mon, &year, &h, &m, &sec, &used) != 7 || s[used])
        return -1;
    const char *at = strstr(months, mon);
    if (!at || (at - months) % 3 != 0 || strlen(mon) != 3) return -1;
    struct tm tm = {.tm_year = year - 1900, .tm_mon = (int)(at - months) / 3, .tm_mday = day, .tm_hour = h,
                    .tm_min = m, .tm_sec = sec};
    *out = timegm(&tm);
    return 0;
}

/* RFC 9110 13.2.2: If-None-Match decides when present (weak comparison, a list or "*"); only
 * without it does If-Modified-Since, at the resolution of a second. */
static bool image_not_modified(struct MHD_Connection *c, const validators *v, bool etag, bool last_modified) {
    const char *inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-None-Match");
    if (inm) {
        if (!etag) return false;
        if (strstr(inm, "*")) return true;
        for (const char *p = inm; (p = strstr(p, v->etag)); p++) return true;
        return false;
    }
    const char *ims = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-Modified-Since");
    if (!ims || !last_modified) return false;
    time_t since;
    return parse_imf_date(ims, &since) == 0 && v->mtime <= since;
}

static enum MHD_Result send_image(fake *f, struct MHD_Connection *c, unsigned status, const char *type, const char *body,
                                  size_t len, const validators *v, bool etag, bool last_modified) {
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    if (type) MHD_add_response_header(r, "Content-Type", type);
    if (etag) MHD_add_response_header(r, "ETag", v->etag);
    if (last_modified) MHD_add_response_header(r, "Last-Modified", v->last_modified);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    if (status == MHD_HTTP_NOT_MODIFIED) atomic_fetch_add(&f->images_not_modified, 1);
    return ret;
}

static enum MHD_Result handle_image(fake *f, struct MHD_Connection *c, const char *name) {
    behaviour b = decide(f, c, false);
    image_query_overrides(c, &b);
    if (b.latency_ms > 0 && !fake_sleep(f, b.latency_ms)) return MHD_NO;
    enum MHD_Result ret;
    if (answer_failure(f, c, &b, &ret)) return ret;
    /* Names are one path segment: no directory walking out of images_dir. */
    if (!f->images_dir || !*name || strchr(name, '/') || strstr(name, "..") || name[0] == '.')
        return send_text(c, 404, "{\"error\":\"no such image\"}");
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", f->images_dir, name);
    size_t len = 0;
    char *data = read_file(path, &len);
    if (!data) return send_text(c, 404, "{\"error\":\"no such image\"}");
    const char *type = b.mode == M_WRONG_TYPE ? "text/html" : image_type(name);
    if (b.mode == M_SLOW || b.mode == M_TRUNCATED)
        return send_special(f, c, type, data, len, b.mode == M_SLOW, b.mode == M_TRUNCATED);
    const char *which = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "fake-validators");
    bool etag = !which || strcmp(which, "etag") == 0, last_modified = !which || strcmp(which, "last-modified") == 0;
    validators v;
    image_validators(path, data, len, &v);
    if (image_not_modified(c, &v, etag, last_modified))
        ret = send_image(f, c, MHD_HTTP_NOT_MODIFIED, NULL, "", 0, &v, etag, last_modified);
    else
        ret = send_image(f, c, 200, type, data, len, &v, etag, last_modified);
    free(data);
    return ret;
}

static enum MHD_Result handle_stats(fake *f, struct MHD_Connection *c) {
    char body[1024], modes[512];
    size_t n = 0;
    for (size_t i = 0; i < N_MODES && n < sizeof modes; i++)
        n += (size_t)snprintf(modes + n, sizeof modes - n, "%s\"%s\":%ld", i ? "," : "", mode_names[i],
                              atomic_load(&f->by_mode[i]));
    snprintf(body, sizeof body,
             "{\"requests\":%ld,\"chat_requests\":%ld,\"recorded\":%ld,\"modes\":{%s},"
             "\"retries_after_429\":%ld,\"early_retries_after_429\":%ld,\"min_gap_after_429_ms\":%ld,"
             "\"images_not_modified\":%ld}",
             atomic_load(&f->requests), atomic_load(&f->chats), atomic_load(&f->recorded), modes,
             atomic_load(&f->retries_after_429), atomic_load(&f->early_retries_after_429),
             atomic_load(&f->min_gap_after_429_ms), atomic_load(&f->images_not_modified));
    return send_text(c, 200, body);
}

/* Apart from /_fake/stats, whose shape tests parse into small buffers. */
static enum MHD_Result handle_answer_stats(fake *f, struct MHD_Connection *c) {
    char body[1024], answers[768];
    size_t n = 0;
    for (size_t i = 1; i < N_ANSWERS && n < sizeof answers; i++)
        n += (size_t)snprintf(answers + n, sizeof answers - n, "%s\"%s\":%ld", i > 1 ? "," : "", answer_names[i],
                              atomic_load(&f->by_answer[i]));
    snprintf(body, sizeof body, "{\"answers\":{%s},\"repair_requests\":%ld,\"schema_rejections\":%ld}", answers,
             atomic_load(&f->repair_requests), atomic_load(&f->schema_rejections));
    return send_text(c, 200, body);
}

static enum MHD_Result handle_redirect(struct MHD_Connection *c) {
    const char *to = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "to");
    if (!to) return send_text(c, 400, "{\"error\":\"redirect needs ?to=\"}");
    struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Location", to);
    enum MHD_Result ret = MHD_queue_response(c, 302, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_size,
                                  void **con_cls) {
    (void)version;
    fake *f = cls;
    if (!*con_cls) {
        upload *u = calloc(1, sizeof *u);
        if (!u) return MHD_NO;
        *con_cls = u;
        atomic_fetch_add(&f->requests, 1);
        return MHD_YES;
    }
    upload *u = *con_cls;
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (u->too_big || n > MAX_BODY - u->len) {
            u->too_big = true;
            return MHD_YES;
        }
        if (u->len + n + 1 > u->cap) {
            size_t cap = u->cap ? u->cap : 8192;
            while (cap < u->len + n + 1) cap *= 2;
            char *b = realloc(u->buf, cap);
            if (!b) return MHD_NO;
            u->buf = b;
            u->cap = cap;
        }
        memcpy(u->buf + u->len, upload_data, n);
        u->len += n;
        u->buf[u->len] = '\0';
        return MHD_YES;
    }
    if (u->too_big) return send_text(c, 413, "{\"error\":\"request body too large\"}");
    if (strcmp(url, "/v1/chat/completions") == 0) {
        if (strcmp(method, "POST") != 0) return send_text(c, 405, "{\"error\":\"POST only\"}");
        return handle_chat(f, c, u);
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) return send_text(c, 405, "{\"error\":\"GET only\"}");
    if (strncmp(url, "/images/", 8) == 0) return handle_image(f, c, url + 8);
    if (strcmp(url, "/_fake/stats") == 0) return handle_stats(f, c);
    if (strcmp(url, "/_fake/answers") == 0) return handle_answer_stats(f, c);
    if (strcmp(url, "/redirect") == 0) return handle_redirect(c);
    return send_text(c, 404, "{\"error\":\"not found\"}");
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe) {
    (void)cls, (void)c, (void)toe;
    upload *u = *con_cls;
    if (u) {
        free(u->buf);
        free(u);
    }
    *con_cls = NULL;
}

/* ---- main ------------------------------------------------------------------------------------ */

static int parse_args(fake *f, int argc, char **argv, char **content_owned) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        long n;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(a, "--echo") == 0) {
            f->echo = true;
            continue;
        } else if (strcmp(a, "--no-request-check") == 0) {
            f->check_requests = false;
            continue;
        }
        if (!v) {
            fprintf(stderr, "fake_openai: %s needs a value (see --help)\n", a);
            return -1;
        }
        i++;
        if (strcmp(a, "--bind") == 0) f->bind = v;
        else if (strcmp(a, "--port") == 0 && parse_long(v, 0, 65535, &n) == 0) f->port = n;
        else if (strcmp(a, "--content") == 0) f->content = v;
        else if (strcmp(a, "--content-file") == 0) {
            size_t len;
            free(*content_owned);
            *content_owned = read_file(v, &len);
            if (!*content_owned) {
                fprintf(stderr, "fake_openai: --content-file %s: %s\n", v, strerror(errno));
                return -1;
            }
            f->content = *content_owned;
        } else if (strcmp(a, "--record-dir") == 0) f->record_dir = v;
        else if (strcmp(a, "--images-dir") == 0) f->images_dir = v;
        else if (strcmp(a, "--latency-ms") == 0 && parse_long(v, 0, NEVER_MS, &n) == 0) f->latency_ms = n;
        else if (strcmp(a, "--latency-jitter-ms") == 0 && parse_long(v, 0, NEVER_MS, &n) == 0) f->latency_jitter_ms = n;
        else if (strcmp(a, "--error-rate") == 0) {
            if (parse_rate(v, &f->error_rate) != 0) {
                fprintf(stderr, "fake_openai: --error-rate %s: expected a number in 0..1\n", v);
                return -1;
            }
        } else if (strcmp(a, "--fault-mix") == 0) {
            char why[160];
            if (parse_mix(false, f->mix, &f->n_mix, v, why, sizeof why) != 0) {
                fprintf(stderr, "fake_openai: --fault-mix %s: %s\n", v, why);
                return -1;
            }
        } else if (strcmp(a, "--answer-mix") == 0) {
            char why[160];
            if (parse_mix(true, f->answer_mix, &f->n_answer_mix, v, why, sizeof why) != 0) {
                fprintf(stderr, "fake_openai: --answer-mix %s: %s\n", v, why);
                return -1;
            }
        } else if (strcmp(a, "--answer") == 0 || strcmp(a, "--repair-answer") == 0) {
            if (parse_answer(v, a[2] == 'a' ? &f->answer : &f->repair_answer) != 0) {
                fprintf(stderr, "fake_openai: %s %s: unknown answer kind (see --help)\n", a, v);
                return -1;
            }
        } else if (strcmp(a, "--tool-calls") == 0) {
            cJSON *t = cJSON_Parse(v);
            bool ok = cJSON_IsArray(t) && cJSON_GetArraySize(t) > 0;
            cJSON_Delete(t);
            if (!ok) {
                fprintf(stderr, "fake_openai: --tool-calls: expected a non-empty JSON array of {name, arguments}\n");
                return -1;
            }
            f->tool_calls = v;
        } else if (strcmp(a, "--hold-ms") == 0 && parse_long(v, 0, NEVER_MS, &n) == 0) f->hold_ms = n;
        else if (strcmp(a, "--mode") == 0) {
            if (parse_mode(v, &f->mode) != 0) {
                fprintf(stderr, "fake_openai: --mode %s: unknown (see --help)\n", v);
                return -1;
            }
        } else if (strcmp(a, "--retry-after") == 0) f->retry_after = v;
        else if (strcmp(a, "--slow-chunk-ms") == 0 && parse_long(v, 0, 60000, &n) == 0) f->slow_chunk_ms = n;
        else if (strcmp(a, "--slow-chunk-bytes") == 0 && parse_long(v, 1, 1 << 20, &n) == 0) f->slow_chunk_bytes = n;
        else if (strcmp(a, "--max-connections") == 0 && parse_long(v, 1, 100000, &n) == 0) f->max_connections = (unsigned)n;
        else if (strcmp(a, "--seed") == 0 && parse_long(v, 0, __LONG_MAX__, &n) == 0) bf_rng_seed(&f->rng, (uint64_t)n);
        else {
            fprintf(stderr, "fake_openai: bad flag or value: %s %s (see --help)\n", a, v);
            return -1;
        }
    }
    if (f->error_rate > 0 && f->n_mix > 0) {
        fprintf(stderr, "fake_openai: --error-rate and --fault-mix together: put the 500s in the mix (500=P)\n");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv) {
    fake f = {.bind = "127.0.0.1", .retry_after = "1", .slow_chunk_ms = 200, .slow_chunk_bytes = 16,
               .max_connections = 1024, .hold_ms = NEVER_MS, .min_gap_after_429_ms = -1, .check_requests = true};
    bf_rng_seed(&f.rng, 1);
    pthread_mutex_init(&f.mu, NULL);
    pthread_cond_init(&f.stop_cv, NULL);
    char *content_owned = NULL;
    if (parse_args(&f, argc, argv, &content_owned) != 0) return 2;
    if (!f.content && !f.echo) f.content = getenv("FAKE_OPENAI_CONTENT");
    for (size_t i = 0; i < fake_openai_schema_files_n && f.check_requests; i++) {
        if (strcmp(fake_openai_schema_files[i].name, "chat_completions.schema.json") != 0) continue;
        char why[512];
        f.request_schema = bf_json_schema_new(fake_openai_schema_files[i].data, fake_openai_schema_files[i].len, why,
                                              sizeof why);
        if (!f.request_schema) {
            fprintf(stderr, "fake_openai: the OpenAI request schema does not load: %s\n", why);
            return 2;
        }
    }
    if (f.check_requests && !f.request_schema) {
        fprintf(stderr, "fake_openai: no chat_completions.schema.json compiled in\n");
        return 2;
    }

    /* Signals are taken by sigwait below; threads started after this inherit the mask. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f.port)};
    if (inet_pton(AF_INET, f.bind, &addr.sin_addr) != 1) {
        fprintf(stderr, "fake_openai: --bind %s: not an IPv4 address\n", f.bind);
        return 2;
    }
    /* poll(), not select(): with a thousand calls in flight (the brain bench) descriptors pass
     * FD_SETSIZE, and select() would refuse those connections. */
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG, (uint16_t)f.port, NULL,
        NULL, on_request, &f, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_CONNECTION_LIMIT,
        f.max_connections, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_CONNECTION_TIMEOUT, 0u,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, &f, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "fake_openai: cannot listen on %s:%ld: %s\n", f.bind, f.port, strerror(errno));
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    printf("fake_openai listening on http://%s:%u\n", f.bind, info ? (unsigned)info->port : 0u);
    fflush(stdout);

    int sig = 0;
    sigwait(&set, &sig);
    pthread_mutex_lock(&f.mu);
    f.stopping = true;
    pthread_cond_broadcast(&f.stop_cv);
    pthread_mutex_unlock(&f.mu);
    MHD_stop_daemon(d);
    free(content_owned);
    bf_json_schema_free(f.request_schema);
    return 0;
}

/* `fleetctl eval`: decision quality, measured. Runs the labelled requests of an eval set
 * (brain_eval.h; default tests/eval/decisions.json) through the rules, or through the model the
 * brain is configured with (BRAINFLEET_LLM_*), by the same flow the worker decides with
 * (brain_flow.h: request, classification, one repair round, rules in fallback), and prints the
 * accuracy per tool, the destructive misses and how each request was decided. The model is called
 * with a plain blocking libcurl request, one at a time. */
#include <curl/curl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bf_config.h"
#include "bf_llm_endpoint.h"
#include "brain_config.h"
#include "brain_eval.h"
#include "brain_flow.h"
#include "fleet_cmds.h"

const char fleet_usage_eval[] =
    "usage: fleetctl eval [--set FILE] [--llm] [--fallback] [--misses] [--min-accuracy PERCENT]\n"
    "\n"
    "Scores a decider on labelled requests (default tests/eval/decisions.json): accuracy per\n"
    "expected tool, destructive misses (a deleteScene or changeDuration the labels do not call\n"
    "for), and the decision paths (llm, llm_repaired, fallback:<reason>, rules).\n"
    "  --set FILE             the labelled set (format: brain-worker/brain_eval.h)\n"
    "  --llm                  decide with the model of brain-worker's settings (BRAINFLEET_LLM_URL,\n"
    "                         _MODEL, _API_KEY, _MODE, _TEMPERATURE, _MAX_TOKENS, _MAX_TOKENS_FIELD,\n"
    "                         _TIMEOUT, _RETRIES, BRAINFLEET_TOKEN_BUDGET), one repair round and the\n"
    "                         rules in fallback, as brain-worker does; default: the rules offline\n"
    "  --fallback             the rules as they decide in place of a failed model\n"
    "  --misses               print every wrong or destructive decision to stderr\n"
    "  --min-accuracy PERCENT exit 1 below this accuracy or on any destructive miss\n";

typedef struct llm {
    const brain_cfg *cfg;
    brain_tools *tools;
    brain_llm_opts opts;
    char url[BF_CFG_STR_MAX + 32];
    struct curl_slist *headers;
    CURL *curl;
    const volatile sig_atomic_t *stop;
} llm;

typedef struct grow {
    char *buf;
    size_t len;
} grow;

static size_t on_body(char *p, size_t size, size_t n, void *ctx) {
    grow *g = ctx;
    size_t add = size * n;
    if (g->len + add > (8u << 20)) return 0; /* a completion is a few KiB */
    char *b = realloc(g->buf, g->len + add + 1);
    if (!b) return 0;
    memcpy(b + g->len, p, add);
    g->len += add;
    b[g->len] = '\0';
    g->buf = b;
    return add;
}

/* One POST with the client's retry rule (408/409/429/5xx and transport errors). */
static long post(llm *l, const char *body, grow *resp, char *err, size_t errlen) {
    long status = 0;
    for (long long attempt = 0; attempt <= l->cfg->llm_retries && !*l->stop; attempt++) {
        if (attempt) {
            struct timespec ts = {.tv_sec = attempt, .tv_nsec = 0}; /* 1 s, 2 s, ...: a command, not a fleet */
            nanosleep(&ts, NULL);
        }
        free(resp->buf);
        *resp = (grow){0};
        curl_easy_setopt(l->curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(l->curl, CURLOPT_WRITEDATA, resp);
        CURLcode rc = curl_easy_perform(l->curl);
        if (rc != CURLE_OK) {
            snprintf(err, errlen, "%s", curl_easy_strerror(rc));
            status = 0;
            continue;
        }
        curl_easy_getinfo(l->curl, CURLINFO_RESPONSE_CODE, &status);
        err[0] = '\0';
        if (!bf_llm_status_retryable(status)) break;
    }
    return status;
}

static int llm_decide(void *impl, const brain_eval_case *c, brain_answer *out, char *path, size_t pathlen) {
    llm *l = impl;
    brain_prompt_image imgs[8];
    for (size_t i = 0; i < c->n_images && i < 8; i++) imgs[i] = (brain_prompt_image){.url = c->images[i], .trace_id = ""};
    brain_flow_input in = {.llm = l->curl != NULL, .tools = l->tools, .opts = &l->opts,
                           .token_budget = l->cfg->token_budget, .user_prompt = c->prompt,
                           .selected_scene = c->selected_scene, .images = imgs,
                           .n_images = c->n_images < 8 ? c->n_images : 8, .ctx = c->ctx};
    brain_flow f;
    char *body = NULL;
    brain_flow_step s = brain_flow_start(&f, &in, &body);
    while (s == BRAIN_FLOW_SEND) {
        grow resp = {0};
        char err[CURL_ERROR_SIZE + 64] = "";
        long status = post(l, body, &resp, err, sizeof err);
        free(body);
        s = brain_flow_answer(&f, status, resp.buf, resp.len, err[0] ? err : NULL, &body);
        free(resp.buf);
    }
    if (s != BRAIN_FLOW_DONE) {
        brain_flow_clear(&f);
        snprintf(path, pathlen, "out of memory");
        return -1;
    }
    brain_flow_path(&f, path, pathlen);
    *out = f.answer;
    memset(&f.answer, 0, sizeof f.answer);
    brain_flow_clear(&f);
    return 0;
}

static char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    grow g = {0};
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (on_body(chunk, 1, n, &g) != n) break;
    fclose(f);
    *len = g.len;
    return g.buf;
}

static int llm_open(fleet_ctx *c, llm *l, const brain_cfg *cfg) {
    char err[512];
    *l = (llm){.cfg = cfg, .stop = c->stop};
    if (!cfg->llm_url[0])
        return fleet_fail(c, FLEET_EXIT_USAGE, "eval", "--llm needs BRAINFLEET_LLM_URL (and _MODEL, _API_KEY)");
    if (bf_llm_chat_url(cfg->llm_url, l->url, sizeof l->url) != 0)
        return fleet_fail(c, FLEET_EXIT_USAGE, "eval", "BRAINFLEET_LLM_URL is too long");
    l->tools = brain_tools_new(err, sizeof err);
    if (!l->tools) return fleet_fail(c, FLEET_EXIT_RUNTIME, "eval", "%s", err);
    brain_llm_mode mode = BRAIN_LLM_MODE_TOOLS;
    brain_llm_mode_parse(cfg->llm_mode, &mode); /* the config table allows only the two names */
    l->opts = (brain_llm_opts){.model = cfg->llm_model, .mode = mode, .temperature = cfg->llm_temperature,
                               .max_tokens = cfg->llm_max_tokens, .max_tokens_field = cfg->llm_max_tokens_field};
    l->curl = curl_easy_init();
    char auth[BF_CFG_STR_MAX + 32];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", cfg->llm_api_key);
    l->headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (cfg->llm_api_key[0] && l->headers) l->headers = curl_slist_append(l->headers, auth);
    if (!l->curl || !l->headers) return fleet_fail(c, FLEET_EXIT_RUNTIME, "eval", "out of memory");
    curl_easy_setopt(l->curl, CURLOPT_URL, l->url);
    curl_easy_setopt(l->curl, CURLOPT_HTTPHEADER, l->headers);
    curl_easy_setopt(l->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(l->curl, CURLOPT_TIMEOUT_MS, (long)cfg->llm_timeout_ms);
    curl_easy_setopt(l->curl, CURLOPT_NOSIGNAL, 1L);
    return FLEET_EXIT_OK;
}

static void llm_close(llm *l) {
    if (l->curl) curl_easy_cleanup(l->curl);
    curl_slist_free_all(l->headers);
    brain_tools_free(l->tools);
}

int fleet_cmd_eval(fleet_ctx *c, int argc, char **argv) {
    if (fleet_wants_help(argc, argv)) {
        fputs(fleet_usage_eval, c->out);
        return FLEET_EXIT_OK;
    }
    enum { O_SET = 1, O_LLM, O_FALLBACK, O_MISSES, O_MIN };
    static const struct option opts[] = {
        {"set", required_argument, 0, O_SET},         {"llm", no_argument, 0, O_LLM},
        {"fallback", no_argument, 0, O_FALLBACK},     {"misses", no_argument, 0, O_MISSES},
        {"min-accuracy", required_argument, 0, O_MIN}, {0, 0, 0, 0},
    };
    const char *set_path = "tests/eval/decisions.json";
    bool use_llm = false, fallback = false, misses = false;
    double min_accuracy = -1;
    optind = 0;
    opterr = 0;
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case O_SET: set_path = optarg; break;
        case O_LLM: use_llm = true; break;
        case O_FALLBACK: fallback = true; break;
        case O_MISSES: misses = true; break;
        case O_MIN: {
            char *end;
            min_accuracy = strtod(optarg, &end);
            if (end == optarg || *end || min_accuracy < 0 || min_accuracy > 100)
                return fleet_fail(c, FLEET_EXIT_USAGE, "eval", "--min-accuracy: want a percentage 0..100");
            break;
        }
        default: return fleet_fail(c, FLEET_EXIT_USAGE, "eval", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return fleet_fail(c, FLEET_EXIT_USAGE, "eval", "unexpected argument '%s'", argv[optind]);
    if (use_llm && fallback) return fleet_fail(c, FLEET_EXIT_USAGE, "eval", "--llm and --fallback together");
    brain_cfg cfg;
    char err[512];
    if (bf_config_load(brain_cfg_vars, brain_cfg_n, &cfg, bf_cfg_process_getenv, NULL, err, sizeof err) != 0)
        return fleet_fail(c, FLEET_EXIT_USAGE, "eval", "%s", err);
    size_t len = 0;
    char *text = read_all(set_path, &len);
    if (!text) return fleet_fail(c, FLEET_EXIT_RUNTIME, "eval", "cannot read %s", set_path);
    brain_eval_set *set = brain_eval_load(text, len, err, sizeof err);
    free(text);
    if (!set) return fleet_fail(c, FLEET_EXIT_RUNTIME, "eval", "%s: %s", set_path, err);
    llm l = {0};
    int rc = use_llm ? llm_open(c, &l, &cfg) : FLEET_EXIT_OK;
    brain_eval_report rep;
    if (rc == FLEET_EXIT_OK) {
        if (use_llm)
            fprintf(c->out, "decider: %s at %s (%s mode), %zu requests\n", cfg.llm_model, l.url, cfg.llm_mode,
                    brain_eval_count(set));
        else
            fprintf(c->out, "decider: rules%s, %zu requests\n", fallback ? " in fallback" : "", brain_eval_count(set));
        if (brain_eval_run(set, use_llm ? llm_decide : brain_eval_rules, use_llm ? (void *)&l : (void *)&fallback, &rep,
                           misses ? c->err : NULL) != 0)
            rc = fleet_fail(c, FLEET_EXIT_RUNTIME, "eval", "out of memory");
    }
    if (rc == FLEET_EXIT_OK) {
        brain_eval_print(&rep, c->out);
        if (*c->stop) rc = fleet_fail(c, FLEET_EXIT_RUNTIME, "eval", "interrupted");
        else if (min_accuracy >= 0 && (brain_eval_accuracy(&rep) < min_accuracy || rep.destructive_misses))
            rc = fleet_fail(c, FLEET_EXIT_RUNTIME, "eval", "%.1f %% with %zu destructive misses: below --min-accuracy %.1f",
                            brain_eval_accuracy(&rep), rep.destructive_misses, min_accuracy);
    }
    llm_close(&l);
    brain_eval_free(set);
    return rc;
}

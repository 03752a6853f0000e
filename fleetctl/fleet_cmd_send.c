/* `fleetctl send`: submit a brain request as the editor would (a proper envelope from the
 * contracts' encoder, key = project id, traceparent header), and optionally wait for the
 * decision and its enrichments on brainDecisions. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bf_msg_brain_request.h"
#include "bf_trace.h"
#include "bf_uuid.h"
#include "fleet_cmds.h"
#include "fleet_event.h"
#include "fleet_kafka.h"
#include "fleet_time.h"

const char fleet_usage_send[] =
    "usage: fleetctl send --project ID --prompt TEXT [--image URL]... [--scene ID] [--conversation ID]\n"
    "                     [--await-image-facts MS] [--request-id UUID] [--wait SECONDS]\n"
    "\n"
    "Publishes one brainRequests message (envelope from the shared encoder, Kafka key = project id,\n"
    "headers traceparent, bf-schema, bf-schema-version) and prints its request id and trace id.\n"
    "  --image URL              an image for the brain (repeatable, up to 8)\n"
    "  --scene ID               the selected scene\n"
    "  --conversation ID        the conversation the prompt belongs to\n"
    "  --await-image-facts MS   let the brain wait up to MS (0..60000) for image facts\n"
    "  --request-id UUID        use this request id (default: a new UUIDv7)\n"
    "  --wait SECONDS           then wait up to SECONDS for the decision on brainDecisions and print\n"
    "                           it (a JSON line), then any image-facts enrichments until every\n"
    "                           image has one or time is up; exit 1 when no decision came\n";

typedef struct wait_state {
    const fleet_ctx *c;
    const char *request_id;
    int decided;
    int enriched;
} wait_state;

static int on_decision(const fleet_record *r, void *ud) {
    wait_state *w = ud;
    fleet_event ev;
    if (fleet_event_from_record(r, &ev) != 0 || strcmp(ev.request_id, w->request_id) != 0) return 0;
    fprintf(w->c->out, "%.*s\n", (int)r->len, (const char *)r->value);
    fflush(w->c->out);
    if (strcmp(ev.kind, "image_facts_enriched") == 0) w->enriched++;
    else w->decided = 1;
    return 0;
}

/* Reads brainDecisions from the offsets captured before the request went out, until the decision
 * (and n_images enrichments) arrived or the deadline passed. */
static int wait_decision(const fleet_ctx *c, rd_kafka_t *rk, const char *topic, fleet_part_range *r, size_t n,
                         const char *request_id, size_t n_images, int64_t deadline_ms) {
    wait_state w = {.c = c, .request_id = request_id};
    char err[512];
    while (!*c->stop && fleet_now_ms() < deadline_ms && !(w.decided && (size_t)w.enriched >= n_images)) {
        /* Re-resolve the end each round: the range reader stops at the end it was given. */
        for (size_t i = 0; i < n; i++) {
            int64_t lo, hi;
            if (rd_kafka_query_watermark_offsets(rk, topic, r[i].partition, &lo, &hi, c->timeout_ms) == 0) {
                r[i].start = r[i].next;
                r[i].end = hi;
                r[i].done = r[i].start >= r[i].end;
            }
        }
        if (fleet_kafka_read(c, rk, topic, r, n, NULL, on_decision, &w, err, sizeof err) < 0)
            return fleet_fail(c, FLEET_EXIT_RUNTIME, "send", "%s", err);
        for (size_t i = 0; i < n; i++) r[i].next = r[i].next > r[i].start ? r[i].next : r[i].start;
        if (!(w.decided && (size_t)w.enriched >= n_images)) {
            struct timespec ts = {0, 200 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    if (!w.decided) return fleet_fail(c, FLEET_EXIT_RUNTIME, "send", "no decision for request %s in time", request_id);
    if ((size_t)w.enriched < n_images)
        fprintf(c->err, "send: decision received; %d of %zu image enrichment(s) arrived in time\n", w.enriched, n_images);
    return FLEET_EXIT_OK;
}

int fleet_cmd_send(fleet_ctx *c, int argc, char **argv) {
    if (fleet_wants_help(argc, argv)) {
        fputs(fleet_usage_send, c->out);
        return FLEET_EXIT_OK;
    }
    enum { O_PROJECT = 1, O_PROMPT, O_IMAGE, O_SCENE, O_CONV, O_AWAIT, O_RID, O_WAIT };
    static const struct option opts[] = {
        {"project", required_argument, 0, O_PROJECT}, {"prompt", required_argument, 0, O_PROMPT},
        {"image", required_argument, 0, O_IMAGE},     {"scene", required_argument, 0, O_SCENE},
        {"conversation", required_argument, 0, O_CONV}, {"await-image-facts", required_argument, 0, O_AWAIT},
        {"request-id", required_argument, 0, O_RID},  {"wait", required_argument, 0, O_WAIT},
        {0, 0, 0, 0},
    };
    bf_msg_brain_request m;
    memset(&m, 0, sizeof m);
    m.await_image_facts_ms = -1;
    char *images[BF_MAX_IMAGE_URLS];
    size_t n_images = 0;
    const char *project = NULL, *rid = NULL;
    int64_t wait_s = 0;
    char err[512];
    optind = 0;
    opterr = 0;
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case O_PROJECT: project = optarg; break;
        case O_PROMPT: m.prompt = optarg; break;
        case O_IMAGE:
            if (n_images == BF_MAX_IMAGE_URLS)
                return fleet_fail(c, FLEET_EXIT_USAGE, "send", "at most %d --image", BF_MAX_IMAGE_URLS);
            images[n_images++] = optarg;
            break;
        case O_SCENE: m.selected_scene_id = optarg; break;
        case O_CONV: m.conversation_id = optarg; break;
        case O_AWAIT:
            if (fleet_parse_uint(optarg, BF_AWAIT_FACTS_MAX_MS, &m.await_image_facts_ms, err, sizeof err))
                return fleet_fail(c, FLEET_EXIT_USAGE, "send", "--await-image-facts: %s", err);
            break;
        case O_RID: rid = optarg; break;
        case O_WAIT:
            if (fleet_parse_uint(optarg, 86400, &wait_s, err, sizeof err) || wait_s == 0)
                return fleet_fail(c, FLEET_EXIT_USAGE, "send", "--wait: want 1..86400 seconds");
            break;
        default: return fleet_fail(c, FLEET_EXIT_USAGE, "send", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return fleet_fail(c, FLEET_EXIT_USAGE, "send", "unexpected argument '%s'", argv[optind]);
    if (!project || !m.prompt) return fleet_fail(c, FLEET_EXIT_USAGE, "send", "--project and --prompt are required");
    if (rid && !bf_uuid_valid(rid)) return fleet_fail(c, FLEET_EXIT_USAGE, "send", "--request-id: '%s' is not a UUID", rid);
    if (rid) snprintf(m.request_id, sizeof m.request_id, "%s", rid);
    else bf_uuid_v7(m.request_id);
    m.image_urls.v = images;
    m.image_urls.n = n_images;
    char traceparent[BF_TRACEPARENT_LEN + 1];
    bf_trace_new(traceparent);
    if (bf_envelope_init(&m.env, BF_SCHEMA_BRAIN_REQUESTS, project, traceparent, "fleetctl", fleet_now_ms(), err,
                         sizeof err))
        return fleet_fail(c, FLEET_EXIT_USAGE, "send", "%s", err);
    /* The encoder validates against the same rules as brain-worker's decoder: a request it would
     * reject is a usage error here, not a dead letter there. */
    char *json = bf_msg_brain_request_encode(&m, err, sizeof err);
    if (!json) return fleet_fail(c, FLEET_EXIT_USAGE, "send", "%s", err);

    int rc = FLEET_EXIT_RUNTIME;
    char topic[512], decisions[512], ver[12];
    fleet_topic_name(c, BF_SCHEMA_BRAIN_REQUESTS, topic, sizeof topic);
    fleet_topic_name(c, BF_SCHEMA_BRAIN_DECISIONS, decisions, sizeof decisions);
    fleet_delivery dr = {0};
    rd_kafka_t *consumer = NULL, *producer = NULL;
    fleet_part_range *r = NULL;
    size_t n = 0;
    if (wait_s > 0) {
        /* Positions captured before producing, so a fast decision cannot be missed. */
        fleet_range_spec latest = {.from = FLEET_FROM_LATEST};
        consumer = fleet_kafka_consumer(c, NULL, err, sizeof err);
        if (!consumer || fleet_kafka_resolve(c, consumer, decisions, -1, &latest, &r, &n, err, sizeof err)) {
            fleet_fail(c, FLEET_EXIT_RUNTIME, "send", "%s", err);
            goto out;
        }
        for (size_t i = 0; i < n; i++) r[i].next = r[i].high;
    }
    producer = fleet_kafka_producer(c, &dr, err, sizeof err);
    if (!producer) {
        fleet_fail(c, FLEET_EXIT_RUNTIME, "send", "%s", err);
        goto out;
    }
    int32_t parts;
    if (fleet_kafka_partitions(c, producer, topic, &parts, err, sizeof err)) {
        fleet_fail(c, FLEET_EXIT_RUNTIME, "send", "%s", err);
        goto out;
    }
    fleet_record rec = {.key = project, .key_len = strlen(project), .value = json, .len = strlen(json)};
    rec.headers[0] = (fleet_header){"traceparent", traceparent, strlen(traceparent)};
    rec.headers[1] = (fleet_header){BF_HDR_SCHEMA, BF_SCHEMA_BRAIN_REQUESTS, strlen(BF_SCHEMA_BRAIN_REQUESTS)};
    bf_envelope_version_header(&m.env, ver);
    rec.headers[2] = (fleet_header){BF_HDR_SCHEMA_VERSION, ver, strlen(ver)};
    rec.n_headers = 3;
    if (fleet_kafka_produce(producer, topic, -1, &rec, 0, err, sizeof err) ||
        fleet_kafka_flush(c, producer, &dr, err, sizeof err)) {
        fleet_fail(c, FLEET_EXIT_RUNTIME, "send", "%s", err);
        goto out;
    }
    fprintf(c->err, "send: request %s (trace %s) for project %s on %s\n", m.request_id, m.env.trace_id, project, topic);
    fprintf(c->out, "{\"request_id\":\"%s\",\"trace_id\":\"%s\",\"event_id\":\"%s\"}\n", m.request_id, m.env.trace_id,
            m.env.event_id);
    fflush(c->out);
    rc = wait_s > 0 ? wait_decision(c, consumer, decisions, r, n, m.request_id, n_images, fleet_now_ms() + wait_s * 1000)
                    : FLEET_EXIT_OK;
out:
    free(json);
    free(r);
    if (producer) rd_kafka_destroy(producer);
    if (consumer) {
        rd_kafka_consumer_close(consumer);
        rd_kafka_destroy(consumer);
    }
    return rc;
}

/* `fleetctl storyboard`: one project's storyboard as the reference editor sees it, the
 * editorEvents topic folded (fleet_editor_log.h); optionally once a given request is reported. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bf_uuid.h"
#include "fleet_cmds.h"
#include "fleet_editor_log.h"
#include "fleet_time.h"

const char fleet_usage_storyboard[] =
    "usage: fleetctl storyboard --project ID [--request UUID] [--wait SECONDS]\n"
    "\n"
    "Prints a project's storyboard as the editor reported it: the editorEvents topic folded by the\n"
    "contract's rules (highest version wins; deletions are tombstones), the scenes in order with\n"
    "their id, duration, version, name and description (-o json: {project_id, scenes[]}).\n"
    "  --request UUID   also say how the editor reported that brain request (applied or failed);\n"
    "                   exit 1 when it has not (yet): a clarification is never reported\n"
    "  --wait SECONDS   with --request: wait up to SECONDS for the report\n";

int fleet_cmd_storyboard(fleet_ctx *c, int argc, char **argv) {
    if (fleet_wants_help(argc, argv)) {
        fputs(fleet_usage_storyboard, c->out);
        return FLEET_EXIT_OK;
    }
    enum { O_PROJECT = 1, O_REQUEST, O_WAIT };
    static const struct option opts[] = {
        {"project", required_argument, 0, O_PROJECT},
        {"request", required_argument, 0, O_REQUEST},
        {"wait", required_argument, 0, O_WAIT},
        {0, 0, 0, 0},
    };
    const char *project = NULL, *request = NULL;
    int64_t wait_s = 0;
    char err[512];
    optind = 0;
    opterr = 0;
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case O_PROJECT: project = optarg; break;
        case O_REQUEST: request = optarg; break;
        case O_WAIT:
            if (fleet_parse_uint(optarg, 86400, &wait_s, err, sizeof err) || wait_s == 0)
                return fleet_fail(c, FLEET_EXIT_USAGE, "storyboard", "--wait: want 1..86400 seconds");
            break;
        default:
            return fleet_fail(c, FLEET_EXIT_USAGE, "storyboard", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return fleet_fail(c, FLEET_EXIT_USAGE, "storyboard", "unexpected argument '%s'", argv[optind]);
    if (!project) return fleet_fail(c, FLEET_EXIT_USAGE, "storyboard", "--project is required");
    if (request && !bf_uuid_valid(request))
        return fleet_fail(c, FLEET_EXIT_USAGE, "storyboard", "--request: '%s' is not a UUID", request);
    if (wait_s && !request) return fleet_fail(c, FLEET_EXIT_USAGE, "storyboard", "--wait needs --request");
    if (c->output == FLEET_OUT_HTML) return fleet_fail(c, FLEET_EXIT_USAGE, "storyboard", "-o html: only table or json");

    fleet_editor_log log;
    if (fleet_editor_log_open(&log, c, project, err, sizeof err) != 0)
        return fleet_fail(c, FLEET_EXIT_RUNTIME, "storyboard", "%s", err);
    fleet_storyboards sb = {0};
    int64_t deadline = fleet_now_ms() + wait_s * 1000;
    const fleet_request_mark *mark = NULL;
    int rc = FLEET_EXIT_OK;
    for (;;) {
        if (fleet_editor_log_catch_up(&log, &sb, err, sizeof err) < 0) {
            rc = fleet_fail(c, FLEET_EXIT_RUNTIME, "storyboard", "%s", err);
            break;
        }
        const fleet_project *p = fleet_storyboards_find(&sb, project);
        mark = p && request ? fleet_project_mark(p, request) : NULL;
        if (!request || (mark && mark->reported) || fleet_now_ms() >= deadline || *c->stop) break;
        struct timespec ts = {0, 200 * 1000000L};
        nanosleep(&ts, NULL);
    }
    fleet_editor_log_close(&log);
    if (rc == FLEET_EXIT_OK) {
        fleet_project empty = {.id = (char *)project};
        const fleet_project *p = fleet_storyboards_find(&sb, project);
        if (!p) p = &empty;
        bool reported = mark && mark->reported;
        const char *outcome = reported ? (mark->failed ? "failed" : "applied") : "not reported";
        if (c->output == FLEET_OUT_JSON) {
            cJSON *j = fleet_storyboard_json(p);
            if (j && request) {
                cJSON *r = cJSON_AddObjectToObject(j, "request");
                cJSON_AddStringToObject(r, "request_id", request);
                cJSON_AddStringToObject(r, "outcome", outcome);
            }
            char *text = j ? cJSON_PrintUnformatted(j) : NULL;
            if (text) fprintf(c->out, "%s\n", text);
            free(text);
            cJSON_Delete(j);
        } else {
            if (request) fprintf(c->out, "request %s: %s\n", request, outcome);
            fleet_storyboard_print(p, c->out);
        }
        if (request && !reported)
            rc = fleet_fail(c, FLEET_EXIT_RUNTIME, "storyboard", "the editor has not reported request %s%s", request,
                            wait_s ? " in time" : "");
    }
    fleet_storyboards_free(&sb);
    return rc;
}

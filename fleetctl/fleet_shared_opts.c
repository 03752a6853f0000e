#include <string.h>

#include "fleet_cmds.h"

/* The value of a -x/--long option at argv[i]: "-bVALUE", "--long=VALUE" or the next word. */
static const char *opt_value(int argc, char **argv, int i, const char *s, const char *l, int *used) {
    const char *a = argv[i];
    size_t ll = strlen(l);
    *used = 0;
    if (strcmp(a, s) == 0 || strcmp(a, l) == 0) {
        *used = 2;
        return i + 1 < argc ? argv[i + 1] : NULL;
    }
    if (strncmp(a, l, ll) == 0 && a[ll] == '=') {
        *used = 1;
        return a + ll + 1;
    }
    if (strncmp(a, s, 2) == 0 && a[2] != '\0' && a[1] != '-') {
        *used = 1;
        return a + 2;
    }
    return NULL;
}

int fleet_take_shared_options(fleet_ctx *c, int *argc, char **argv, char *err, size_t errlen) {
    int out = 1;
    for (int i = 1; i < *argc;) {
        if (strcmp(argv[i], "--") == 0) {
            while (i < *argc) argv[out++] = argv[i++];
            break;
        }
        int used;
        const char *v = opt_value(*argc, argv, i, "-b", "--bootstrap-server", &used);
        if (used) {
            if (!v || !*v) {
                snprintf(err, errlen, "-b/--bootstrap-server needs HOST:PORT[,HOST:PORT...]");
                return -1;
            }
            if (strlen(v) >= sizeof c->cfg.kafka_brokers) {
                snprintf(err, errlen, "-b/--bootstrap-server: too long");
                return -1;
            }
            snprintf(c->cfg.kafka_brokers, sizeof c->cfg.kafka_brokers, "%s", v);
            i += used;
            continue;
        }
        v = opt_value(*argc, argv, i, "-o", "--output", &used);
        if (used) {
            if (v && strcmp(v, "table") == 0) c->output = FLEET_OUT_TABLE;
            else if (v && strcmp(v, "json") == 0) c->output = FLEET_OUT_JSON;
            else if (v && strcmp(v, "html") == 0) c->output = FLEET_OUT_HTML;
            else {
                snprintf(err, errlen, "-o/--output: '%s' is not table, json or html", v ? v : "");
                return -1;
            }
            c->output_set = true;
            i += used;
            continue;
        }
        argv[out++] = argv[i++];
    }
    *argc = out;
    argv[out] = NULL;
    return 0;
}

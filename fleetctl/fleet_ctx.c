#include "fleet_ctx.h"

#include <stdarg.h>
#include <string.h>

void fleet_topic_name(const fleet_ctx *c, const char *name, char *out, size_t outlen) {
    size_t pl = strlen(c->cfg.topic_prefix);
    if (pl && strncmp(name, c->cfg.topic_prefix, pl) == 0) snprintf(out, outlen, "%s", name);
    else snprintf(out, outlen, "%s%s", c->cfg.topic_prefix, name);
}

int fleet_fail(const fleet_ctx *c, int code, const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(c->err, "fleetctl %s: ", cmd);
    vfprintf(c->err, fmt, ap);
    fputc('\n', c->err);
    if (code == FLEET_EXIT_USAGE) fprintf(c->err, "(see: fleetctl %s --help)\n", cmd);
    va_end(ap);
    return code;
}

/* The DSN check lives apart from bf_config.c so the parsers stay free of libpq (the fuzz targets
 * build bf_config.c alone). */
#include <stdio.h>
#include <string.h>

#include <libpq-fe.h>

#include "bf_config.h"

int bf_config_check_dsn(const char *dsn, char *err, size_t errlen) {
    if (!dsn || !*dsn) return 0;
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(dsn, &perr);
    if (opts) {
        PQconninfoFree(opts);
        return 0;
    }
    /* libpq's message ends in a newline; it never echoes the password. */
    size_t l = perr ? strcspn(perr, "\n") : 0;
    snprintf(err, errlen, "%sPG_DSN: not a libpq connection string: %.*s", BF_ENV_PREFIX, (int)l,
             perr ? perr : "out of memory");
    PQfreemem(perr);
    return -1;
}

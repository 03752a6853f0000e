/* What every fleetctl command gets from main: configuration (BRAINFLEET_* env, same table as the
 * workers), the bounded timeout for broker round trips, the interrupt flag and the output
 * streams. Owned by main; commands only read it (except through stop, which the signal handler
 * sets). */
#ifndef FLEET_CTX_H
#define FLEET_CTX_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "bf_common_config.h"

/* Exit codes: usage errors (bad flags, bad time formats) vs runtime failures (broker, topic). */
#define FLEET_EXIT_OK 0
#define FLEET_EXIT_RUNTIME 1
#define FLEET_EXIT_USAGE 2

/* `-o table|json` (and `html` for report): the one output switch every command takes. */
typedef enum { FLEET_OUT_TABLE = 0, FLEET_OUT_JSON, FLEET_OUT_HTML } fleet_output;

typedef struct fleet_ctx {
    bf_common_cfg cfg;
    char *const *envp;                  /* for BRAINFLEET_KAFKA_* pass-through properties */
    int timeout_ms;                     /* metadata, watermarks, admin calls, acks */
    const volatile sig_atomic_t *stop;  /* set on SIGINT/SIGTERM: finish cleanly, summarise */
    FILE *out;                          /* results (stdout) */
    FILE *err;                          /* progress, summaries, errors (stderr) */
    bool progress;                      /* draw a progress bar (stderr is a terminal) */
    bool verbose;                       /* let librdkafka log */
    fleet_output output;                /* -o / --output */
    bool output_set;                    /* -o was given (commands with one format refuse others) */
} fleet_ctx;

/* Topic names on the command line are base names ("brainRequests"): the configured prefix is
 * prepended unless the name already starts with it (names copied from a DLQ entry or a listing
 * are already complete). */
void fleet_topic_name(const fleet_ctx *c, const char *name, char *out, size_t outlen);

/* Prints "fleetctl <cmd>: <message>" to c->err and returns code (for `return fleet_fail(...)`). */
int fleet_fail(const fleet_ctx *c, int code, const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif

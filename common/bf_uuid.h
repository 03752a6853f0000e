/* UUIDs for event ids (version 7: a millisecond timestamp then random bits, so ids sort by
 * creation time and index well in PostgreSQL) and validation of the canonical text form.
 * Random bits come from getrandom(2); there is no per-process state, so two ids minted in the
 * same millisecond are ordered by chance only (event ids need uniqueness, not strict order). */
#ifndef BF_UUID_H
#define BF_UUID_H

#include <stdbool.h>
#include <stdint.h>

#define BF_UUID_LEN 36 /* "xxxxxxxx-xxxx-7xxx-[89ab]xxx-xxxxxxxxxxxx" */

/* A new UUIDv7 for the current wall-clock time, lowercase, NUL-terminated. */
void bf_uuid_v7(char out[BF_UUID_LEN + 1]);
/* Same with an explicit Unix time in ms (tests, replays). */
void bf_uuid_v7_at(int64_t unix_ms, char out[BF_UUID_LEN + 1]);
/* A UUIDv7 that is a pure function of (unix_ms, name): the random bits are SHA-256(name). For
 * event ids that must come out the same when an effect is recomputed after a redelivery (a
 * re-decided request's memory update), so the consumers' idempotency ledger sees one event. */
void bf_uuid_v7_derived(int64_t unix_ms, const char *name, char out[BF_UUID_LEN + 1]);
/* A random UUIDv4 (request ids minted by tools that are not the editor). */
void bf_uuid_v4(char out[BF_UUID_LEN + 1]);

/* Canonical lowercase 8-4-4-4-12 hex, version 1..8, RFC 4122 variant (10xx). */
bool bf_uuid_valid(const char *s);
/* bf_uuid_valid and version 7. */
bool bf_uuid_v7_valid(const char *s);
/* The Unix ms timestamp of a valid UUIDv7, or -1. */
int64_t bf_uuid_v7_time_ms(const char *s);

#endif

/* schemas/topics.tsv: one topic per line, TAB-separated name, partitions, retention_ms,
 * description; '#' lines and blank lines are comments. Parsed strictly: a typo in the manifest
 * must stop `topics ensure`, not create a wrong topic. */
#ifndef FLEET_MANIFEST_H
#define FLEET_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

typedef struct fleet_topic_spec {
    char name[250];       /* Kafka's limit is 249 */
    int32_t partitions;   /* >= 1 */
    int64_t retention_ms; /* -1: keep forever */
    char description[256];
} fleet_topic_spec;

/* Parses text (NUL-terminated). *out malloc'd (caller frees), *n entries. -1 with err naming the
 * line on any malformed line or duplicate name. */
int fleet_manifest_parse(const char *text, fleet_topic_spec **out, size_t *n, char *err, size_t errlen);

/* Legal Kafka topic name: 1..249 of [A-Za-z0-9._-], not "." or "..". */
int fleet_topic_name_valid(const char *s);

#endif

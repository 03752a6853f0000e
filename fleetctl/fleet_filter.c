#include "fleet_filter.h"

#include <stdio.h>
#include <string.h>

#include "bf_trace.h"

int fleet_filter_validate(const fleet_filter *f, char *err, size_t errlen) {
    if (f->project && !*f->project) {
        snprintf(err, errlen, "--project: empty project id");
        return -1;
    }
    if (f->trace_id && !bf_trace_id_valid(f->trace_id)) {
        snprintf(err, errlen, "--trace: '%s' is not a trace id (32 lowercase hex digits, not all zero)", f->trace_id);
        return -1;
    }
    return 0;
}

bool fleet_filter_is_empty(const fleet_filter *f) { return !f->project && !f->trace_id; }

bool fleet_filter_match(const fleet_filter *f, const fleet_record *r) {
    if (f->project) {
        size_t n = strlen(f->project);
        if (!r->key || r->key_len != n || memcmp(r->key, f->project, n) != 0) return false;
    }
    if (f->trace_id) {
        char t[BF_TRACE_ID_LEN + 1];
        if (fleet_record_trace_id(r, t) != 0 || strcmp(t, f->trace_id) != 0) return false;
    }
    return true;
}

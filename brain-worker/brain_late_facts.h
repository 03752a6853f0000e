/* Late-arriving facts: which request waits for which image, keyed by the image trace id the brain
 * minted when it published imageAnalysisRequested.
 *
 * Life of an entry: expect() when the request fans out an image; arrived() when its
 * imageFactsProcessed comes in:
 *   - request not decided yet      -> BRAIN_LATE_UNDECIDED: the job gets the facts (an awaiting
 *                                     request decides with them; otherwise the enrichment follows
 *                                     the decision);
 *   - request decided              -> BRAIN_LATE_ENRICH: publish one enrichment;
 *   - already enriched (redelivery) -> BRAIN_LATE_DUPLICATE: nothing;
 *   - unknown trace id              -> BRAIN_LATE_UNKNOWN (see below).
 * After arrived() the entry becomes a tombstone until its TTL, so a redelivered facts message never
 * enriches twice. Entries are bounded by count (oldest evicted first) and by TTL.
 *
 * Rebalances and restarts lose this table. brainRequests and imageFactsProcessed are both keyed
 * by project id with the same partition count and the range assignor, so a project's requests and
 * facts move together to one consumer. An unknown trace id is still a request of ours (only the
 * brain mints image trace ids, and the facts carry the request id), so the stage re-reads that
 * from the facts message itself and enriches it, unless the request id is a UUIDv7 older than the
 * TTL. That is at-least-once across a crash, exactly once within a process. */
#ifndef BRAIN_LATE_FACTS_H
#define BRAIN_LATE_FACTS_H

#include <stddef.h>
#include <stdint.h>

typedef struct brain_late_facts brain_late_facts;

typedef enum {
    BRAIN_LATE_UNKNOWN = 0,
    BRAIN_LATE_UNDECIDED,
    BRAIN_LATE_ENRICH,
    BRAIN_LATE_DUPLICATE,
} brain_late_result;

brain_late_facts *brain_late_facts_new(size_t max_entries, int64_t ttl_ms);
void brain_late_facts_free(brain_late_facts *lf);

/* Registers an image of an undecided request; job is the stage's, returned on arrival.
 * Returns 0 or -1 (out of memory). */
int brain_late_facts_expect(brain_late_facts *lf, const char *trace_id, const char *request_id, void *job,
                            int64_t now_ms);
/* The request of trace_id was decided: later facts produce an enrichment. */
void brain_late_facts_decided(brain_late_facts *lf, const char *trace_id);
/* Facts for trace_id arrived. *job is set for BRAIN_LATE_UNDECIDED. */
brain_late_result brain_late_facts_arrived(brain_late_facts *lf, const char *trace_id, int64_t now_ms, void **job);
/* Forgets entries past their TTL; returns how many. */
size_t brain_late_facts_expire(brain_late_facts *lf, int64_t now_ms);
size_t brain_late_facts_count(const brain_late_facts *lf);

#endif

/* Per-partition tracking of in-flight messages, so that with many messages processed
 * concurrently the offset stored for a partition never passes a message that is not finished:
 * a crash then re-delivers every unfinished message and never skips one. Pure data structure,
 * no Kafka calls. */
#ifndef BF_OFFSETS_H
#define BF_OFFSETS_H

#include <stddef.h>
#include <stdint.h>

typedef struct bf_offsets bf_offsets;

bf_offsets *bf_offsets_new(void);
void bf_offsets_free(bf_offsets *t);

/* Records that (topic, partition, offset) started. Offsets of one partition must arrive in
 * increasing order (as a consumer sees them). Returns 0, or -1 when out of memory. */
int bf_offsets_begin(bf_offsets *t, const char *topic, int32_t partition, int64_t offset);

/* Marks it finished. Returns the offset to store (the next offset to consume: one past the
 * longest finished prefix) when the commit point advanced, or -1 when it did not (an older
 * message of the partition is still in flight, or the partition is not tracked). */
int64_t bf_offsets_finish(bf_offsets *t, const char *topic, int32_t partition, int64_t offset);

/* Calls fn for every partition whose commit point advanced since the last drain (with the
 * newest offset to store), then forgets those advances. The runtime stores offsets once per loop
 * turn this way rather than once per message. */
typedef void (*bf_offsets_store_fn)(void *ctx, const char *topic, int32_t partition, int64_t offset);
size_t bf_offsets_drain(bf_offsets *t, bf_offsets_store_fn fn, void *ctx);

/* Forgets a partition (revoked): its in-flight messages' later finishes return -1. */
void bf_offsets_forget(bf_offsets *t, const char *topic, int32_t partition);

/* Total messages begun and not yet finished over all partitions. */
size_t bf_offsets_in_flight(const bf_offsets *t);
/* Oldest unfinished offset of a partition, or -1 when none. */
int64_t bf_offsets_lowest(const bf_offsets *t, const char *topic, int32_t partition);

#endif

/* The confidence merge rule for project memory (docs/memory-writer.md, "Confidence").
 *
 * A memory row holds a value, a confidence c in [0, 1] and whether the user stated it explicitly.
 * An update brings a value, an evidence weight w in [0, 1] and its own explicitness:
 *   - an inferred update never changes an explicit row;
 *   - the same value (jsonb equality) is reinforcement: c' = c + (1 - c) * w, so repeated
 *     evidence approaches 1 and never exceeds it;
 *   - a different explicit value replaces the row: c' = w (the user changed their mind);
 *   - a different inferred value against an inferred row is contradiction: it weakens the row to
 *     c * (1 - w), and replaces it (c' = w) once the weakened belief is below the new one.
 * A row becomes explicit as soon as one explicit update lands on it.
 *
 * memory_store's upsert computes exactly this in its ON CONFLICT DO UPDATE (same operations in
 * double precision); tests/integration/test_memory_confidence.c checks the two agree. */
#ifndef MEMORY_CONFIDENCE_H
#define MEMORY_CONFIDENCE_H

#include <stdbool.h>

typedef struct memory_belief {
    double confidence;
    bool is_explicit;
} memory_belief;

typedef struct memory_merge_result {
    memory_belief belief;
    bool take_value; /* the row's value becomes the update's value */
} memory_merge_result;

/* old: the stored row; w/update_explicit: the update; same_value: the values are equal.
 * Inputs outside [0, 1] are clamped. */
memory_merge_result memory_confidence_merge(memory_belief old, double w, bool update_explicit, bool same_value);

#endif

#include "memory_config.h"

#include <stddef.h>

#define F(field) offsetof(memory_cfg, field)
#define NOBOUND 1, 0

const bf_cfg_var memory_cfg_vars[] = {
    {"BATCH_SIZE", BF_CFG_INT, F(batch_size), "500", 1, 100000, NULL, 0,
     "Messages written per PostgreSQL transaction, at most. Each connection holds one batch in "
     "flight and the next filling, all within BRAINFLEET_MAX_IN_FLIGHT: batches are full only when "
     "MAX_IN_FLIGHT >= 2 x WRITE_CONNECTIONS x BATCH_SIZE."},
    {"BATCH_LINGER", BF_CFG_MS, F(batch_linger_ms), "50ms", 0, 60000, NULL, 0,
     "How long the oldest message of an unfilled batch waits before the batch is written anyway: "
     "the latency a quiet topic pays for batching. At BRAINFLEET_MAX_IN_FLIGHT no more messages can "
     "arrive, so an unfilled batch is then written at once."},
    {"WRITE_CONNECTIONS", BF_CFG_INT, F(write_connections), "2", 1, MEMORY_MAX_CONNECTIONS, NULL, 0,
     "PostgreSQL connections one memory-writer writes batches through at the same time. A "
     "project always uses the same one, so its updates apply in order; BRAINFLEET_MAX_IN_FLIGHT "
     "is shared among them. More help while the database has idle cores; on a machine whose "
     "cores the worker already shares with PostgreSQL, 1 can be faster (docs/memory-writer.md, "
     "Benchmark). Count them in max_connections, per replica."},
    {"DB_RETRY_MAX", BF_CFG_MS, F(retry_max_ms), "5s", 10, 600000, NULL, 0,
     "Longest pause between attempts while PostgreSQL is unreachable (the backoff doubles from "
     "100 ms up to this). Consumption is held meanwhile and /readyz reports not ready."},
    {"INFERRED_WEIGHT", BF_CFG_DOUBLE, F(inferred_weight), "0.2", 0.0, 1.0, NULL, 0,
     "Evidence weight w of one analysed image for the preferences it implies (preferred_mood, "
     "preferred_colors): agreeing evidence moves confidence c to c + (1 - c) * w."},
    {"RETENTION_IMAGE_ANALYSIS", BF_CFG_MS, F(retention_image_ms), "30d", 0, 3153600000000.0, NULL, 0,
     "`memory-writer cleanup` deletes image analyses older than this."},
    {"RETENTION_CONVERSATION", BF_CFG_MS, F(retention_conversation_ms), "90d", 0, 3153600000000.0, NULL, 0,
     "`memory-writer cleanup` deletes conversation messages and conversation_context memory "
     "older than this; every write of a conversation_context sets its expires_at to now + this. "
     "Preferences and scene relationships are kept."},
    {"RETENTION_LEDGER", BF_CFG_MS, F(retention_ledger_ms), "30d", 86400000, 3153600000000.0, NULL, 0,
     "`memory-writer cleanup` forgets processed_events entries of memory-writer older than this. "
     "Keep it above the input topics' retention: a replay of an older message would apply twice."},
    {"CLEANUP_BATCH", BF_CFG_INT, F(cleanup_batch), "5000", 1, 1000000, NULL, 0,
     "Rows deleted per statement by `memory-writer cleanup`; small batches keep each lock short."},
};
const size_t memory_cfg_n = sizeof memory_cfg_vars / sizeof memory_cfg_vars[0];

-- Indexes for the context packet's reads and the retention cleanup's scans (docs/schema.md).

-- Preferences / relationships of a project, strongest first (brain-worker context).
CREATE INDEX project_memory_by_type ON project_memory (project_id, memory_type, confidence DESC, key);
-- Retention: conversation context by age; anything with an expiry.
CREATE INDEX project_memory_by_age ON project_memory (memory_type, updated_at);
CREATE INDEX project_memory_expiring ON project_memory (expires_at) WHERE expires_at IS NOT NULL;

-- A project's image analyses, newest first; and the retention scan by age.
CREATE INDEX image_analysis_recent ON image_analysis (project_id, created_at DESC);
CREATE INDEX image_analysis_by_age ON image_analysis (created_at);
-- "Is this URL already analysed for this project?" (brain-worker, before asking again).
CREATE INDEX image_analysis_urls ON image_analysis USING gin (image_urls);

-- Recent conversation of a project (optionally one conversation), newest first; retention scan.
CREATE INDEX messages_recent ON messages (project_id, created_at DESC);
CREATE INDEX messages_conversation ON messages (project_id, conversation_id, created_at DESC);
CREATE INDEX messages_by_age ON messages (created_at);

-- A project's scenes in timeline order.
CREATE INDEX scenes_by_position ON scenes (project_id, position);

-- Ledger pruning per consumer by age.
CREATE INDEX processed_events_by_age ON processed_events (consumer, processed_at);

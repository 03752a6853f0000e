-- Facts of an image that could not be analysed (docs/image-analysis.md, "Failures") are stored
-- like any analysis: the error in `error`, the measurements NULL (they are nullable already), and
-- no content hash when no bytes were fetched (a status, a timeout, a refused address).
ALTER TABLE image_analysis ALTER COLUMN content_hash DROP NOT NULL;

-- Still one row per (project, content hash, trace id), a missing hash included: memory-writer's
-- ON CONFLICT (project_id, content_hash, trace_id) DO NOTHING must see a redelivered failure as
-- the same row, and with NULLs distinct (the default) two NULL hashes never conflict.
ALTER TABLE image_analysis DROP CONSTRAINT image_analysis_once;
ALTER TABLE image_analysis ADD CONSTRAINT image_analysis_once
    UNIQUE NULLS NOT DISTINCT (project_id, content_hash, trace_id);

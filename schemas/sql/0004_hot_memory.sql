-- Let memory upserts be HOT updates (heap-only tuples: no new index entries, the new row version
-- on the same page). PostgreSQL can do that only when no indexed column changes, and every
-- upsert changes confidence and updated_at. Measured with bench/memory_writer_bench (see
-- docs/memory-writer.md "Benchmark"): before this, ~87% of upserts were non-HOT and each wrote
-- three index entries (pkey, project_memory_key, project_memory_by_type).

-- brain-worker's context query reads one project's rows of one type ordered by confidence,
-- LIMIT 100: project_memory_key (project_id, memory_type, key) finds them, and sorting a
-- project's few dozen rows costs nothing next to keeping confidence indexed on every write.
DROP INDEX IF EXISTS project_memory_by_type;

-- Retention of conversation_context now walks the primary key in bounded id windows and tests
-- updated_at on the rows (memory_cleanup.c), so updated_at needs no index.
DROP INDEX IF EXISTS project_memory_conversation_by_age;

-- Room on each page for the next version of its rows, which HOT requires. Applies to pages
-- written from now on; existing pages fill as rows are updated.
ALTER TABLE project_memory SET (fillfactor = 80);

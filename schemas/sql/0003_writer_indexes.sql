-- Indexes that cost memory-writer's upserts and inserts more than they give its readers
-- (measured with bench/memory_writer_bench, see docs/memory-writer.md "Benchmark").

-- No query can use it: brain-worker's "already analysed?" test is `url = ANY (image_urls)`,
-- which a GIN array index does not serve (only @>, <@, && and = on whole arrays do); the plan
-- uses image_analysis_recent for the project and filters. Every image insert paid a GIN entry.
DROP INDEX IF EXISTS image_analysis_urls;

-- The retention cleanup is the only reader of updated_at, and only for conversation_context
-- rows; a partial index keeps that scan while preference and relationship upserts (the bulk of
-- the writes, each one a new index entry because confidence changes) no longer insert into it.
DROP INDEX IF EXISTS project_memory_by_age;
CREATE INDEX project_memory_conversation_by_age ON project_memory (updated_at)
    WHERE memory_type = 'conversation_context';

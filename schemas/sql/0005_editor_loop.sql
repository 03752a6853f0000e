-- The editor loop (issue 17, docs/schema.md): scenes become the storyboard of record written from
-- the editor's reports (editorEvents), conversation messages get their turn, and an image's
-- preference evidence is counted once per project and content hash.

-- Each scene keeps, per part of its state, the version of the editor event that last set it:
-- content (name, duration, description) from scene_created/scene_updated, position from those and
-- scenes_reordered, and the deletion. An event changes a part only when its version is above the
-- stored one (memory_store.c), so duplicates and stale events change nothing and any order of
-- one scene's events ends in the same row. A deletion keeps the row as a tombstone: an older
-- update arriving later cannot bring the scene back; a newer creation (an undo) can. Rows written
-- before this migration (tests, benches) have every version 0: the first event wins.
ALTER TABLE scenes
    ADD COLUMN description      text NOT NULL DEFAULT '',
    ADD COLUMN content_version  bigint NOT NULL DEFAULT 0 CHECK (content_version >= 0),
    ADD COLUMN position_version bigint NOT NULL DEFAULT 0 CHECK (position_version >= 0),
    ADD COLUMN deleted_version  bigint NOT NULL DEFAULT 0 CHECK (deleted_version >= 0);
-- Derived, so they can never disagree with the versions they come from.
ALTER TABLE scenes
    ADD COLUMN version bigint
        GENERATED ALWAYS AS (GREATEST(content_version, position_version, deleted_version)) STORED,
    ADD COLUMN deleted boolean
        GENERATED ALWAYS AS (deleted_version > GREATEST(content_version, position_version)) STORED;

-- The conversation's turn (memoryUpdates messages[].turn): the context read orders by it, user
-- before assistant within a turn, rather than by created_at, which the two messages of a turn
-- share. NULL for messages written without one.
ALTER TABLE messages ADD COLUMN turn integer CHECK (turn >= 1);

-- Which event counted an image's bytes as preference evidence in a project: the first one. Any
-- later imageFactsReady of the same bytes (another trace id, a re-analysis under a new event id)
-- finds the row and its preferences are not applied again. Kept as long as the preferences it
-- protects (no retention).
CREATE TABLE preference_evidence (
    project_id   text NOT NULL,
    content_hash text NOT NULL,
    event_id     uuid NOT NULL,
    counted_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, content_hash)
);

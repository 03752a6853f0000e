-- brainfleet project memory: the tables the workers read and write (docs/schema.md).
-- Applied once, inside a transaction, by the migration runner; no BEGIN/COMMIT here.

-- One row per (project, memory type, key): the unique constraint is what makes concurrent
-- upserts merge instead of duplicating (the first version's read-then-write did not).
CREATE TABLE project_memory (
    id             bigserial PRIMARY KEY,
    project_id     text NOT NULL CHECK (length(project_id) BETWEEN 1 AND 128),
    memory_type    text NOT NULL
                   CHECK (memory_type IN ('user_preference', 'scene_relationship', 'conversation_context')),
    key            text NOT NULL CHECK (length(key) BETWEEN 1 AND 256),
    value          jsonb NOT NULL,
    -- double precision, not real: the confidence merge rule (memory_confidence.h) is computed in
    -- double both in C and in the upsert, and must store exactly what C computes.
    confidence     double precision NOT NULL CHECK (confidence >= 0 AND confidence <= 1),
    source         text NOT NULL,
    is_explicit    boolean NOT NULL DEFAULT false,
    evidence_count integer NOT NULL DEFAULT 1 CHECK (evidence_count >= 1),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz,
    CONSTRAINT project_memory_key UNIQUE (project_id, memory_type, key)
);

-- Facts of one analysed image as seen by one request. The same bytes (content_hash) in one
-- project under one trace are stored once, so a redelivered imageFactsReady writes nothing.
CREATE TABLE image_analysis (
    id              bigserial PRIMARY KEY,
    project_id      text NOT NULL,
    trace_id        text NOT NULL CHECK (trace_id ~ '^[0-9a-f]{32}$'),
    request_id      text NOT NULL,
    content_hash    text NOT NULL CHECK (content_hash ~ '^[0-9a-f]{64}$'),
    image_urls      text[] NOT NULL,
    palette         jsonb NOT NULL DEFAULT '[]',
    brightness      double precision CHECK (brightness BETWEEN 0 AND 1),
    contrast        double precision CHECK (contrast BETWEEN 0 AND 1),
    saturation      double precision CHECK (saturation BETWEEN 0 AND 1),
    temperature     text CHECK (temperature IN ('warm', 'cool', 'neutral')),
    mood            text,
    width           integer CHECK (width > 0),
    height          integer CHECK (height > 0),
    orientation     text CHECK (orientation IN ('landscape', 'portrait', 'square')),
    typography      jsonb,
    style           jsonb,
    objects         jsonb,
    visible_text    jsonb,
    layout          jsonb,
    analyser        text NOT NULL CHECK (analyser IN ('builtin', 'builtin+vision')),
    model           text,
    processing_ms   bigint CHECK (processing_ms >= 0),
    error           jsonb,
    source_event_id text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT image_analysis_once UNIQUE (project_id, content_hash, trace_id)
);

-- The minimal scene list the context packet reads; the editor owns the real scenes.
CREATE TABLE scenes (
    project_id  text NOT NULL,
    scene_id    text NOT NULL,
    name        text NOT NULL DEFAULT '',
    position    integer NOT NULL DEFAULT 0,
    duration_ms bigint CHECK (duration_ms >= 0),
    props       jsonb NOT NULL DEFAULT '{}',
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, scene_id)
);

-- Conversation messages; message_id comes from the memoryUpdates message, so a replay of the
-- same update inserts nothing.
CREATE TABLE messages (
    id              bigserial PRIMARY KEY,
    message_id      uuid NOT NULL UNIQUE,
    project_id      text NOT NULL,
    conversation_id text NOT NULL,
    role            text NOT NULL CHECK (role IN ('user', 'assistant')),
    content         text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- Idempotency ledger: a consumer records each event id in the same transaction as its effects,
-- so a redelivered message finds its row and writes nothing.
CREATE TABLE processed_events (
    consumer     text NOT NULL,
    event_id     uuid NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- The levels feature (shoal.features.levels): members' XP, the record behind the Redis board.
-- Redis holds the live totals; shoal.features.levels.flushing adds their deltas here.
CREATE TABLE levels_members (
    guild_id bigint NOT NULL,
    user_id bigint NOT NULL,
    xp bigint NOT NULL DEFAULT 0 CHECK (xp >= 0),
    -- Set when the member left the guild (off the board, XP kept); NULL while a member.
    left_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (guild_id, user_id)
);

-- Ranks as the board orders them: most XP first, ties by user id ascending.
CREATE INDEX levels_members_rank ON levels_members (guild_id, xp DESC, user_id);

-- Flush batches already applied, so a batch replayed after a crash is applied once.
CREATE TABLE levels_flush_batches (
    batch_id text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);

-- Old batch ids are pruned by age.
CREATE INDEX levels_flush_batches_applied_at ON levels_flush_batches (applied_at);

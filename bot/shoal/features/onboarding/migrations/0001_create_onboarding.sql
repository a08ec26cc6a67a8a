-- Onboarding (shoal.features.onboarding.repository): each guild's rules, and who agreed.

-- One row per guild that has written rules. Each edit increments version (1, 2, ...),
-- changed only by compare-and-swap on the version the editor read.
CREATE TABLE onboarding_rules (
    guild_id bigint PRIMARY KEY,
    version integer NOT NULL CHECK (version > 0),
    text text NOT NULL CHECK (length(text) BETWEEN 1 AND 4000),
    -- The posted rules message, once an admin posted it (to edit it when the rules change).
    channel_id bigint,
    message_id bigint,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((channel_id IS NULL) = (message_id IS NULL))
);

-- One row per member who agreed: the highest rules version they agreed to, and when.
CREATE TABLE onboarding_agreements (
    guild_id bigint NOT NULL,
    user_id bigint NOT NULL,
    version integer NOT NULL CHECK (version > 0),
    agreed_at timestamptz NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);

-- Forgetting a user everywhere (a privacy request) finds their rows without a scan.
CREATE INDEX onboarding_agreements_user ON onboarding_agreements (user_id);

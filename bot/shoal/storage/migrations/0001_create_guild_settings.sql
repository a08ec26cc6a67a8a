-- Per-guild settings and feature flags (shoal.storage.guild_settings).
-- A guild without a row has the defaults: no overrides, empty settings.
CREATE TABLE guild_settings (
    guild_id bigint PRIMARY KEY,
    -- Feature flag overrides, {"<feature>": true|false}; a feature not listed has its default.
    features jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(features) = 'object'),
    -- Settings by key (usually a feature's name), {"<key>": <any JSON>}.
    settings jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(settings) = 'object'),
    updated_at timestamptz NOT NULL DEFAULT now()
);

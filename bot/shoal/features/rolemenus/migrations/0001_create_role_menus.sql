-- Role menus (shoal.features.rolemenus.repository): menus per guild, and their options.

CREATE TABLE role_menus (
    menu_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    guild_id bigint NOT NULL,
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 256),
    kind text NOT NULL CHECK (kind IN ('select', 'buttons')),
    mode text NOT NULL CHECK (mode IN ('single', 'multiple')),
    min_values smallint NOT NULL CHECK (min_values BETWEEN 0 AND 25),
    -- NULL: as many as the menu has options (single mode: 1).
    max_values smallint CHECK (max_values BETWEEN 1 AND 25 AND max_values >= min_values),
    -- The posted message, once posted (to edit it, and to delete it with the menu).
    channel_id bigint,
    message_id bigint,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((channel_id IS NULL) = (message_id IS NULL))
);

CREATE INDEX role_menus_guild ON role_menus (guild_id, menu_id);

CREATE TABLE role_menu_options (
    menu_id bigint NOT NULL REFERENCES role_menus (menu_id) ON DELETE CASCADE,
    -- Denormalised from the menu: a deleted role is found by (guild_id, role_id).
    guild_id bigint NOT NULL,
    role_id bigint NOT NULL,
    position smallint NOT NULL CHECK (position BETWEEN 0 AND 24),
    label text NOT NULL CHECK (length(label) BETWEEN 1 AND 80),
    description text CHECK (length(description) BETWEEN 1 AND 100),
    emoji text CHECK (length(emoji) BETWEEN 1 AND 100),
    -- True once its role was deleted: shown disabled, never given.
    is_disabled boolean NOT NULL DEFAULT false,
    PRIMARY KEY (menu_id, role_id),
    UNIQUE (menu_id, position)
);

CREATE INDEX role_menu_options_role ON role_menu_options (guild_id, role_id);

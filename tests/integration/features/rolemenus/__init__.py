"""Role menus' repository against a real PostgreSQL with its migrations applied."""

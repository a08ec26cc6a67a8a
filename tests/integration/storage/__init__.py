"""Storage against real PostgreSQL and Redis: pools, migrations, guild settings and caching."""

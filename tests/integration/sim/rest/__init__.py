"""The simulator's REST API: shapes against Discord's OpenAPI spec, rules, real hikari."""

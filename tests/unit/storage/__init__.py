"""Pure storage logic: migration plans, the bounded cache, guild settings rules, redaction."""

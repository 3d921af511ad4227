"""Snowflake adapter for energy_integral: the stream procedure, its SQL and deployment."""

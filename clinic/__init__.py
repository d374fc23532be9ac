"""The clinic record (placeholder until the store lands)."""

"""The ground floor: database, settings, text, outbox, rate limits, site settings.
Imports nothing of app above it (tests/test_layers.py)."""

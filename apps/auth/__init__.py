"""The auth app."""

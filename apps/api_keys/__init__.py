"""The api_keys app."""

"""The documents app."""

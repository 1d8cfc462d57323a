"""The organizations app."""

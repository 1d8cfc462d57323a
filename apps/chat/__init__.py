"""The chat app."""

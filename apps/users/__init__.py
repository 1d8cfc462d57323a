"""The users app."""

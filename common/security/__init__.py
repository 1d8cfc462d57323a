"""common security package."""

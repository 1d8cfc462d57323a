"""common core package."""

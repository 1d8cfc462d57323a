"""common validators package."""

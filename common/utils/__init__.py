"""common utils package."""

"""common mixins package."""

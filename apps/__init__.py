"""Docent apps; each depends downward only (see docs/architecture.md)."""

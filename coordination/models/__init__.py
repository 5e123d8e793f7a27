"""Pydantic models of the coordination package (pure: no I/O imports)."""

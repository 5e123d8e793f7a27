"""Examples used by `coord demo` and the tests."""

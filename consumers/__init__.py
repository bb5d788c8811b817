"""consumers room."""

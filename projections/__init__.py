"""projections room."""

"""replay room."""

"""Entry points: CLI, configuration, wiring."""

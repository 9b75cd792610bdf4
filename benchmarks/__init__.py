"""Side-by-side measurements against the standard library (run: scripts/devroot bench)."""

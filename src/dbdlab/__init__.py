"""dbdlab."""

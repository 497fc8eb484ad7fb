"""Margin losses: real scores f, targets in {-1, +1} (or {0, 1}, mapped to ±1), margin v = y·f."""

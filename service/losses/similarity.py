"""Overlap and similarity losses: predictions and targets of shape (N, D), one loss per row."""

"""Loss-evaluation service: loss values, per-sample losses, gradients and statistics over HTTP."""

__version__ = "0.1.0"

"""The HTTP layer: translate requests, delegate to the loss core, encode responses. No math."""

"""Per-finding analysis: one module per notebook, so notebooks only tell the story."""

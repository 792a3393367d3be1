"""monitor: folds registry changes into the indicator catalogue and serves it."""

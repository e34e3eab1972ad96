"""Operations: what an operator runs and watches -- backups, health, metrics, logs,
the run lock, the render workers, the near-match index's process, the heap, the demo and
benchmark data, sheet imports.
"""

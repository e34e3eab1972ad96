"""Operations: what an operator runs and watches -- backups, health, metrics, logs,
the run lock, the render workers, the demo and benchmark data, sheet imports.
"""

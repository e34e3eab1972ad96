"""Plain-Python domain values shared by the services and the storage models."""

"""`make fuzz`: schemathesis against the running product (see `__main__.py`)."""

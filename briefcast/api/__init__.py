"""The FastAPI ingress: accepts briefs, reads runs back, emits pipeline events."""

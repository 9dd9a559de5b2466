"""Adapters: one small interface per kind of external service, with production implementations."""

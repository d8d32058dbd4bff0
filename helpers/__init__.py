"""Clickstream report helpers."""

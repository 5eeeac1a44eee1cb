"""Bancheng web console: server-rendered screens over the four services' public APIs (one more client)."""

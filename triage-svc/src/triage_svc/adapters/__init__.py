"""triage's tables, repositories with their prebuilt statements, and the per-process caches."""

"""triage_svc."""

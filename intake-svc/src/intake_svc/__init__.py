"""intake_svc."""

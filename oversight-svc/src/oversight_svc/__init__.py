"""oversight_svc."""

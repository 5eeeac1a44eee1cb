"""bancheng_services."""

"""bancheng_shared."""

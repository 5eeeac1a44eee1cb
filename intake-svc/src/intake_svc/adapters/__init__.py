"""intake's adapters: tables, repositories and prebuilt statements, the merge index, the PII vault, gateways."""

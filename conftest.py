"""Root conftest: the shared fixtures (real broker, fresh databases, in-process services)."""

pytest_plugins = ["bancheng_services.testing"]

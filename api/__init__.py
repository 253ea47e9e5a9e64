"""qauipsiz.api — the application: CLI, FastAPI service, store, auth and settings."""

"""BentoML services that load registered models from MLflow and answer over HTTP."""

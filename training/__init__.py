"""Model code: training, evaluation, MLflow tracking and the registry's promotion gate."""

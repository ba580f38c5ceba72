"""DVC stages: each module is one stage of dvc.yaml, a plain function plus a `python -m` entry."""

"""Data in twcs format: a seeded synthetic generator and an importer for the real Kaggle file."""

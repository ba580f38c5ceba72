"""Shared core: settings, pipeline parameters, message schemas and text processing.

Everything else may import from here; nothing here imports the rest of the project.
"""

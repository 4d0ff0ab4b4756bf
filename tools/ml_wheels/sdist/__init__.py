"""Reproducible source distributions of python_wheel targets (`python_sdist`)."""

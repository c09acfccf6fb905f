"""Loaded with -p before Django is set up: tests run with development settings."""

import os

os.environ.setdefault("CASEWORK_DEVELOPMENT", "1")

"""Celery tasks (see metrics/tasks.py for the conventions)."""

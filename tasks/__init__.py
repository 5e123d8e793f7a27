"""Thin Celery tasks: decode ids, call the coordination core, return a small dict."""

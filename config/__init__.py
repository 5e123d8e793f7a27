"""Service configuration: typed settings and the Celery application."""

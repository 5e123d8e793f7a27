"""The read-only web view: ``coord ui`` (see :mod:`coordination.web.app` for its pages)."""

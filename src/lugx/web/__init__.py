"""The web store front (see app.py and docs/web.md)."""

from lugx.web.app import create_web_app, web_process_app

__all__ = ["create_web_app", "web_process_app"]

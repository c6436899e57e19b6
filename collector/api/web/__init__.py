"""Server-rendered pages for provincial officials (Jinja2, no JavaScript needed).

``make_router(store)`` returns the routes; ``create_app`` mounts them. Every page needs a
login (viewer or above); attestation and waiver forms need an operator; user management an
admin. Agents' bearer tokens open nothing here (401).
"""

from collector.api.web.pages import make_router

__all__ = ["make_router"]

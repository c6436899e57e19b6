"""Server-rendered pages for provincial officials (Jinja2, no JavaScript needed).

Every page needs a login (viewer or above); attestation and waiver forms need an operator;
user management an admin. Agents' bearer tokens open nothing here (401). One router per
module: login (and the stylesheet), pages (readiness), downloads, forms, admin; rendering
and the error page in render.py, cookies and CSRF in session.py.
"""

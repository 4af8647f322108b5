"""Server-rendered pages (Jinja2, autoescaped) with the security headers every HTML page carries.

No external assets: styles and the form_post script are inline, allowed by a per-response CSP nonce.
"""

from __future__ import annotations

import secrets
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.responses import HTMLResponse

from passportoffice.errors import OAuthError

_templates = Environment(
    loader=PackageLoader("passportoffice.web", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    auto_reload=False,
)


def render(template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)
    html = _templates.get_template(template).render(nonce=nonce, **context)
    return HTMLResponse(html, status_code=status_code, headers=html_headers(nonce))


def html_headers(nonce: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; img-src 'self' data:; "
            "base-uri 'none'; frame-ancestors 'none'"
        ),
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    }


def error_page(exc: OAuthError) -> HTMLResponse:
    status = exc.status_code if exc.status_code >= 400 else 400
    return render("error.html", status_code=status, error=exc.error, description=exc.description)


def form_post(redirect_uri: str, values: dict[str, str]) -> HTMLResponse:
    """OAuth 2.0 Form Post Response Mode §2: an auto-submitting form to the redirect_uri."""
    return render("form_post.html", redirect_uri=redirect_uri, values=values)

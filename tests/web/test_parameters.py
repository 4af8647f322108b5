"""RFC 6749 §3.1, §3.2: a parameter sent twice is refused at every endpoint that takes parameters, before
anything else is looked at (client authentication included); pages answer with an error page, APIs with JSON."""

from __future__ import annotations

import pytest

from tests.support.flows import error_code

pytestmark = pytest.mark.anyio

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
REPEATED = "client_id=spa&client_id=spa&token=t&request_id=r"


@pytest.mark.parametrize(
    ("method", "path", "page"),
    [
        ("GET", "/authorize", True),
        ("POST", "/authorize", True),
        ("GET", "/login", True),
        ("POST", "/login", True),
        ("GET", "/consent", True),
        ("POST", "/consent", True),
        ("GET", "/end_session", True),
        ("POST", "/end_session", True),
        ("POST", "/token", False),
        ("POST", "/revoke", False),
        ("POST", "/introspect", False),
    ],
)
async def test_a_repeated_parameter_is_invalid_request_everywhere(flows, method: str, path: str, page: bool):
    if method == "GET":
        response = await flows.http.get(f"{path}?{REPEATED}")
    else:
        response = await flows.http.post(path, content=REPEATED, headers=FORM)
    assert response.status_code == 400, response.text
    assert "location" not in response.headers
    if page:
        assert error_code(response) == "invalid_request"
    else:
        assert response.json()["error"] == "invalid_request"

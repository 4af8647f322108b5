"""oidc-client-ts, the npm SPA library nobody here wrote, logs in against the provider in real Chromium.

Its ordinary mode: authorization code with PKCE, the user and its refresh token kept in memory
(InMemoryWebStorage), then a silent renew through the refresh_token grant. The library's ESM build is
served from tests/interop/node_modules (npm ci), never from a CDN.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.browser.conftest import chromium, context  # noqa: F401 - the fixtures, shared with tests/browser
from tests.interop.conftest import NAME, PASSWORD, USERNAME, InteropServer
from tests.support.static_site import static_site

pytestmark = [pytest.mark.browser, pytest.mark.node]

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def library_page(interop_server: InteropServer) -> Iterator[str]:
    if not (HERE / "node_modules" / "oidc-client-ts" / "dist" / "esm" / "oidc-client-ts.js").is_file():
        reason = "run `npm ci` in tests/interop"
        if os.environ.get("PASSPORTOFFICE_REQUIRE_NODE") == "1":
            pytest.fail(f"PASSPORTOFFICE_REQUIRE_NODE=1 but {reason}")
        pytest.skip(reason)
    config = json.dumps({"issuer": interop_server.issuer, "clientId": interop_server.browser.client_id}).encode()
    port = urlsplit(interop_server.browser_origin).port
    with static_site(HERE, port or 0, {"/config.json": ("application/json", config)}) as origin:
        assert origin == interop_server.browser_origin
        yield origin


def test_oidc_client_ts_logs_in_and_refreshes(
    context: BrowserContext,  # noqa: F811 - the imported fixture
    interop_server: InteropServer,
    library_page: str,
) -> None:
    """signinRedirect, the provider's login page, signinCallback, then signinSilent via the refresh token."""
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{library_page}/oidc_client_ts/index.html")
    page.wait_for_selector("body[data-ready=true]")  # the load event does not wait for top-level await
    page.click("#login")
    page.wait_for_url(re.compile(re.escape(f"{interop_server.issuer}/login?")))
    page.fill("#username", USERNAME)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(f"{library_page}/oidc_client_ts/callback.html?")))
    expect(page.locator("#result")).not_to_be_empty()
    assert page.locator("#error").text_content() == "", page.locator("#error").text_content()
    result = json.loads(page.locator("#result").text_content() or "{}")
    assert result["sub"] == interop_server.sub
    assert result["name"] == NAME
    assert result["tokenType"] == "Bearer"
    assert set(result["scope"].split()) == {"openid", "profile", "email", "offline_access"}
    assert result["hadRefreshToken"] is True
    assert result["renewedSub"] == interop_server.sub
    assert result["accessTokenChanged"] is True
    assert result["refreshTokenRotated"] is True
    assert result["storedKeys"]["local"] == []  # the user lives in memory; only the library's state, if any
    assert errors == []

"""The demo app (`passportoffice demo`) against a real provider process: the flow a person goes through.

httpx stands in for the browser: redirects are followed by hand, and cookies are carried by hand,
because the provider's cookies are Secure and httpx's cookie jar keeps Secure cookies off
http://localhost, where browsers do send them (localhost counts as a secure context).
"""

from __future__ import annotations

import html
import re
import socket
import stat
import subprocess
from collections.abc import Iterator
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx
import pytest

from passportoffice.cli.demo import DEMO_PASSWORD, DEMO_USERNAME
from tests.demo import Demo, command, demo_env, free_ports, running_demo, stop


class Browser:
    def __init__(self) -> None:
        self.cookies: dict[str, str] = {}
        self.http = httpx.Client(timeout=10, follow_redirects=False)

    def request(self, method: str, url: str, **kwargs: object) -> httpx.Response:
        cookie = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        response = self.http.request(method, url, headers={"Cookie": cookie} if cookie else {}, **kwargs)  # type: ignore[arg-type]
        self.http.cookies.clear()
        for header in response.headers.get_list("set-cookie"):
            parsed = SimpleCookie()
            parsed.load(header)
            for name, morsel in parsed.items():
                if morsel["max-age"] == "0":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return response

    def follow(self, url: str, stop_at: str) -> str:
        """GET `url` and follow redirects until one points at `stop_at`; returns that URL."""
        for _ in range(10):
            response = self.request("GET", url)
            assert response.status_code in (302, 303), (response.status_code, response.text)
            url = urljoin(url, response.headers["location"])
            if url.startswith(stop_at):
                return url
        raise AssertionError("too many redirects")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    root = tmp_path_factory.mktemp("demo")
    with running_demo(root / "data", root / "logs") as demo:
        yield demo


def sign_in(demo: Demo, browser: Browser, password: str = DEMO_PASSWORD) -> str:
    """From the app's sign-in button to the provider's redirect back; returns the callback URL."""
    login_page = browser.follow(f"{demo.app}/login", stop_at=f"{demo.provider}/login")
    form = browser.request("GET", login_page)
    assert form.status_code == 200
    fields = dict(re.findall(r'name="(request_id|csrf_token)" value="([^"]*)"', form.text))
    answer = browser.request(
        "POST", f"{demo.provider}/login", data={**fields, "username": DEMO_USERNAME, "password": password}
    )
    assert answer.status_code == 303, answer.text
    callback = urljoin(login_page, answer.headers["location"])
    assert callback.startswith(f"{demo.app}/callback?")
    return callback


def with_query(url: str, **changes: str | None) -> str:
    parts = urlsplit(url)
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    query.update({name: value for name, value in changes.items() if value is not None})
    for name in [name for name, value in changes.items() if value is None]:
        del query[name]
    return parts._replace(query=urlencode(query)).geturl()


def section(page: str, element_id: str) -> str:
    match = re.search(rf'<section id="{element_id}">(.*?)</section>', page, re.S)
    assert match, f"no section {element_id}"
    return html.unescape(match.group(1))


def test_a_person_signs_in_and_sees_the_decoded_id_token(demo: Demo) -> None:
    """The whole flow ends on the callback page with the decoded ID token, userinfo and a sign-out link."""
    browser = Browser()
    page = browser.request("GET", sign_in(demo, browser))
    assert page.status_code == 200, page.text
    assert '"preferred_username": "demo"' in section(page.text, "id-token")
    assert '"typ": "at+jwt"' in section(page.text, "access-token")
    assert "Opaque" in section(page.text, "refresh-token")
    assert "HTTP 200" in section(page.text, "userinfo")
    assert '"email": "demo@example.com"' in section(page.text, "userinfo")
    assert "decoded for display, not verified" in page.text
    assert "'nonce-" in page.headers["content-security-policy"]
    sign_out = html.unescape(re.search(r'id="sign-out" href="([^"]+)"', page.text).group(1))  # type: ignore[union-attr]
    assert sign_out.startswith(f"{demo.provider}/end_session?")
    query = parse_qs(urlsplit(sign_out).query)
    assert query["client_id"] == ["demo-app"]
    assert query["post_logout_redirect_uri"] == [f"{demo.app}/"]
    logged_out = browser.request("GET", sign_out)
    assert logged_out.status_code == 303
    assert logged_out.headers["location"] == f"{demo.app}/"
    assert "__Host-passportoffice-session" not in browser.cookies


def test_a_wrong_iss_is_refused_before_the_code_is_redeemed(demo: Demo) -> None:
    """RFC 9207: a wrong or missing iss is refused, and the code stays unredeemed (it still works afterwards)."""
    browser = Browser()
    callback = sign_in(demo, browser)
    for iss in ("https://evil.example", None):
        refused = browser.request("GET", with_query(callback, iss=iss))
        assert refused.status_code == 400
        assert '<h1 class="error" id="error">Wrong issuer</h1>' in refused.text
    # Codes are single use: had either refused callback redeemed it, this would fail.
    page = browser.request("GET", callback)
    assert page.status_code == 200, page.text
    assert '"preferred_username": "demo"' in section(page.text, "id-token")


def test_a_replayed_state_is_refused(demo: Demo) -> None:
    """A state is used once: the same callback a second time is refused."""
    browser = Browser()
    callback = sign_in(demo, browser)
    assert browser.request("GET", callback).status_code == 200
    replayed = browser.request("GET", callback)
    assert replayed.status_code == 400
    assert '<h1 class="error" id="error">Unknown or already used state</h1>' in replayed.text


def test_two_tabs_sign_in_at_once(demo: Demo) -> None:
    """Each sign-in keeps its own state, verifier and nonce: two started together both finish."""
    first, second = Browser(), Browser()
    first_callback, second_callback = sign_in(demo, first), sign_in(demo, second)
    assert second.request("GET", second_callback).status_code == 200
    assert first.request("GET", first_callback).status_code == 200


def test_seeding_is_idempotent_and_ctrl_c_stops_cleanly(tmp_path: Path) -> None:
    """A second run on the same data dir keeps the demo-service secret and the demo user; Ctrl-C exits 0."""
    data_dir = tmp_path / "data"
    with running_demo(data_dir, tmp_path / "logs") as first:
        secret_file = data_dir / "demo-service.secret"
        secret = secret_file.read_text().strip()
        assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
        assert "demo / demo-password-123" in first.stdout.read_text()
        assert str(secret_file) in first.stdout.read_text()
        assert stop(first) == 0
    assert "Traceback" not in first.output()
    with running_demo(data_dir, tmp_path / "logs") as second:
        assert secret_file.read_text().strip() == secret
        token = httpx.post(
            f"{second.provider}/token", data={"grant_type": "client_credentials"}, auth=("demo-service", secret)
        )
        assert token.status_code == 200, token.text
        assert token.json()["scope"] == "notes:read"
        browser = Browser()
        assert browser.request("GET", sign_in(second, browser)).status_code == 200
    assert second.process.returncode == 0
    assert "Traceback" not in second.output()


def test_a_busy_port_stops_the_demo_with_an_error_line(tmp_path: Path) -> None:
    """When one server cannot start, the other one stops too, and the command ends with one error line."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        app_port = busy.getsockname()[1]
        port, api_port = free_ports(2)
        result = subprocess.run(
            [*command(), "demo", "--port", str(port), "--app-port", str(app_port), "--api-port", str(api_port),
             "--data-dir", str(tmp_path)],
            env=demo_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1].startswith("error: the demo did not start on ports ")

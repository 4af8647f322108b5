"""Authorization requests: RFC 6749 §4.1.1, RFC 7636 §4.3, OIDC Core §3.1.2.1-§3.1.2.6, RFC 8707, RFC 9207.

The order matters (K07, K08): client_id and redirect_uri are validated first, and until both pass no
error may be redirected anywhere. Only then is the rest checked, and its errors go to that URI.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from passportoffice.errors import (
    ConsentRequired,
    InvalidRequest,
    LoginRequired,
    RequestNotSupported,
    RequestUriNotSupported,
    UnauthorizedClient,
    UnsupportedResponseType,
)
from passportoffice.protocol.pkce import validate_code_challenge
from passportoffice.protocol.redirect_uris import match_redirect_uri
from passportoffice.protocol.resources import resolve_audience
from passportoffice.protocol.scopes import allowed_scope, format_scope, parse_scope
from passportoffice.protocol.secrets import new_token
from passportoffice.provider.context import Provider
from passportoffice.storage.records import AuthorizationCode, Client, Session

RESPONSE_MODES = ("query", "form_post")
PROMPTS = frozenset({"none", "login", "consent", "select_account"})
_MAX_NONCE_LENGTH = 512
_MAX_STATE_LENGTH = 2048


@dataclass(frozen=True, slots=True)
class ResponseTarget:
    """Where authorization responses go, once client_id and redirect_uri have passed validation."""

    redirect_uri: str
    state: str | None
    response_mode: str
    issuer: str


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    client: Client
    target: ResponseTarget
    parameters: dict[str, str]
    scopes: tuple[str, ...]
    audience: tuple[str, ...]
    code_challenge: str
    nonce: str | None
    prompt: frozenset[str]
    max_age: int | None
    login_hint: str | None


async def identify_client(provider: Provider, parameters: Mapping[str, str]) -> tuple[Client, ResponseTarget]:
    """Step one: the client and its redirect URI. Errors here are shown as a page, never redirected."""
    client_id = parameters.get("client_id")
    if not client_id:
        raise InvalidRequest("client_id is required")
    client = await provider.storage.get_client(client_id) if len(client_id) <= 255 else None
    if client is None:
        raise InvalidRequest("unknown client_id")
    redirect_uri = parameters.get("redirect_uri")
    if not redirect_uri:
        raise InvalidRequest("redirect_uri is required")
    if match_redirect_uri(redirect_uri, client.redirect_uris) is None:
        raise InvalidRequest("redirect_uri is not registered for this client")
    state = parameters.get("state")
    if state is not None and len(state) > _MAX_STATE_LENGTH:
        state = None
    response_mode = parameters.get("response_mode", "query")
    # An unknown response_mode is answered in the default mode (OAuth 2.0 Multiple Response Types §2.1).
    target = ResponseTarget(
        redirect_uri=redirect_uri,
        state=state,
        response_mode=response_mode if response_mode in RESPONSE_MODES else "query",
        issuer=provider.settings.issuer,
    )
    return client, target


def validate_request(
    provider: Provider, client: Client, target: ResponseTarget, parameters: Mapping[str, str]
) -> AuthorizationRequest:
    """Step two: everything else. Errors from here on are redirected to `target`."""
    if parameters.get("response_mode", "query") not in RESPONSE_MODES:
        raise InvalidRequest("unsupported response_mode")
    # OIDC Core §6.1-§6.2: an OP without request object support MUST refuse them with these codes,
    # rather than ignore parameters the client expects to be honoured.
    if "request" in parameters:
        raise RequestNotSupported("request objects are not supported")
    if "request_uri" in parameters:
        raise RequestUriNotSupported("request_uri is not supported")
    response_type = parameters.get("response_type")
    if response_type is None:
        raise InvalidRequest("response_type is required")
    if response_type != "code":
        # Only the code flow: no implicit, no hybrid (RFC 9700 §2.1.2).
        raise UnsupportedResponseType("only response_type=code is supported")
    if "authorization_code" not in client.grant_types:
        raise UnauthorizedClient("this client may not use the authorization code flow")
    scopes = allowed_scope(parse_scope(parameters.get("scope")), client.scopes)
    challenge = validate_code_challenge(parameters.get("code_challenge"), parameters.get("code_challenge_method"))
    nonce = parameters.get("nonce")
    if nonce is not None and len(nonce) > _MAX_NONCE_LENGTH:
        raise InvalidRequest("nonce is too long")
    prompt = frozenset(parameters.get("prompt", "").split())
    if not prompt <= PROMPTS:
        raise InvalidRequest("unsupported prompt value")
    if "none" in prompt and len(prompt) > 1:
        raise InvalidRequest("prompt=none cannot be combined with other values")
    max_age = _max_age(parameters.get("max_age"))
    audience = resolve_audience(parameters.get("resource"), client.audiences, provider.settings.issuer)
    login_hint = parameters.get("login_hint")
    return AuthorizationRequest(
        client=client,
        target=target,
        parameters=dict(parameters),
        scopes=scopes,
        audience=audience,
        code_challenge=challenge,
        nonce=nonce,
        prompt=prompt,
        max_age=max_age,
        login_hint=login_hint[:255] if login_hint else None,
    )


def needs_login(provider: Provider, request: AuthorizationRequest, session: Session | None, fresh_login: bool) -> bool:
    if fresh_login:
        return False
    if session is None or request.prompt & {"login", "select_account"}:
        return _interaction(request, LoginRequired("the user is not signed in"))
    # max_age=0 is a demand for a fresh sign-in, like prompt=login (OpenID Connect issue #993): with
    # whole seconds, "elapsed > 0" would wave through a session started earlier in the same second.
    if request.max_age is not None and (request.max_age == 0 or provider.now() - session.auth_time > request.max_age):
        return _interaction(request, LoginRequired("the sign-in is older than max_age"))
    return False


async def needs_consent(
    provider: Provider, request: AuthorizationRequest, session: Session, consent_given: bool
) -> bool:
    if consent_given or request.client.first_party:
        return False
    remembered = await provider.storage.get_consent(session.user_id, request.client.client_id)
    if "consent" in request.prompt or not set(request.scopes) <= remembered:
        return _interaction(request, ConsentRequired("the user has not consented"))
    return False


def _interaction(request: AuthorizationRequest, error: LoginRequired | ConsentRequired) -> bool:
    # prompt=none: answer at once; the target was validated first, so this never opens a redirect (K08).
    if "none" in request.prompt:
        raise error
    return True


async def issue_code(provider: Provider, request: AuthorizationRequest, session: Session) -> str:
    code = new_token()
    now = provider.now()
    await provider.storage.add_code(
        AuthorizationCode(
            code_hash=provider.hash(code),
            client_id=request.client.client_id,
            user_id=session.user_id,
            sid=session.sid,
            redirect_uri=request.target.redirect_uri,
            scope=format_scope(request.scopes),
            audience=request.audience,
            nonce=request.nonce,
            code_challenge=request.code_challenge,
            auth_time=session.auth_time,
            amr=session.amr,
            expires_at=now + provider.settings.authorization_code_ttl,
        )
    )
    return code


async def park_request(provider: Provider, request: AuthorizationRequest, *, signed_in: bool = False) -> str:
    """Keep the request while the user signs in or consents; the browser carries only its id.

    `signed_in`: the sign-in demands (prompt=login, max_age) were met before parking, so they are not
    kept; otherwise returning from the consent page would ask for a sign-in again, and with
    `prompt=login consent` loop between the two pages for ever.
    """
    parameters = dict(request.parameters)
    if signed_in:
        parameters.pop("max_age", None)
        prompt = " ".join(sorted(request.prompt - {"login", "select_account"}))
        if prompt:
            parameters["prompt"] = prompt
        else:
            parameters.pop("prompt", None)
    request_id = new_token()
    await provider.storage.put_request(
        request_id,
        request.client.client_id,
        parameters,
        provider.now() + provider.settings.authorization_request_ttl,
    )
    return request_id


def _max_age(raw: str | None) -> int | None:
    if raw is None:
        return None
    if not raw.isdigit() or len(raw) > 10:
        raise InvalidRequest("max_age must be a non-negative integer")
    return int(raw)

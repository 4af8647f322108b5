"""Reading requests safely: size limits before parsing, one value per parameter (RFC 6749 §3.1)."""

from __future__ import annotations

from starlette.requests import Request

from passportoffice.errors import InvalidRequest, RequestTooLarge
from passportoffice.protocol.params import MAX_VALUE_LENGTH, parse_parameters

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
MAX_QUERY_BYTES = 16384


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise RequestTooLarge("the request body is too large")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise RequestTooLarge("the request body is too large")
    return bytes(body)


async def read_parameters(
    request: Request, limit: int, *, max_value_length: int = MAX_VALUE_LENGTH
) -> dict[str, str]:
    """Query parameters for GET, the form body for POST (RFC 6749 §3.1, §3.2)."""
    if request.method == "GET":
        query = request.scope.get("query_string", b"")
        if len(query) > MAX_QUERY_BYTES:
            raise RequestTooLarge("the query string is too long")
        return parse_parameters(query, max_value_length)
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != FORM_CONTENT_TYPE:
        raise InvalidRequest("the body must be " + FORM_CONTENT_TYPE)
    return parse_parameters(await read_body(request, limit), max_value_length)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def mark_front_channel(request: Request) -> None:
    """Errors on this request are shown to the person as a page, not returned as JSON."""
    request.state.front_channel = True

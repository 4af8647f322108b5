"""Request parameter parsing: RFC 6749 §3.1 and §3.2 (no value means omitted; never repeated)."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from passportoffice.errors import InvalidRequest, RequestTooLarge

__all__ = ["MAX_PARAMETERS", "MAX_VALUE_LENGTH", "parse_parameters"]

MAX_PARAMETERS = 64
MAX_VALUE_LENGTH = 8192

# Only names made of these are echoed in error descriptions (RFC 6749 §5.2 limits its charset,
# and the name is attacker-controlled).
_ECHOABLE_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,64}")


def parse_parameters(raw: str | bytes, max_value_length: int = MAX_VALUE_LENGTH) -> dict[str, str]:
    """Parse an application/x-www-form-urlencoded query string or body into a dict.

    Raises InvalidRequest for bytes or percent-escapes that are not UTF-8, more than MAX_PARAMETERS
    parameters, or any name sent twice; RequestTooLarge for a name or value longer than
    `max_value_length` (MAX_VALUE_LENGTH unless the caller bounds the input otherwise).
    Parameters with an empty value or an empty name are left out.
    """
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidRequest("request parameters are not valid UTF-8") from None
    try:
        # keep_blank_values: an empty instance still counts when looking for repeated names.
        pairs = parse_qsl(raw, keep_blank_values=True, max_num_fields=MAX_PARAMETERS, errors="strict")
    except UnicodeDecodeError:
        raise InvalidRequest("request parameters are not valid UTF-8") from None
    except ValueError:
        raise InvalidRequest(f"more than {MAX_PARAMETERS} request parameters") from None

    params: dict[str, str] = {}
    seen: set[str] = set()
    for name, value in pairs:
        if len(name) > max_value_length or len(value) > max_value_length:
            raise RequestTooLarge(f"a request parameter is longer than {max_value_length} characters")
        if not name:
            continue  # RFC 6749 §3.1: unrecognised parameters are ignored, and "" names nothing
        if name in seen:
            # Rejected even when one copy is empty: which copy "counts" is exactly what
            # parameter-pollution attacks exploit when two components disagree.
            shown = name if _ECHOABLE_NAME.fullmatch(name) else "a parameter"
            raise InvalidRequest(f"{shown} is included more than once")
        seen.add(name)
        if value:
            params[name] = value
    return params

"""The demo API ("notes"): a resource server that lets `passportoffice.guard` say yes or no (RFC 6750, RFC 9068).

    GET    /notes        notes:read    the caller's notes
    POST   /notes        notes:write   {"text": "..."} -> 201 with the new note
    DELETE /notes/{id}   notes:write   204; 404 for a note that is not the caller's (or does not exist)

Notes belong to the access token's `sub`: nobody sees or deletes another's, and a note of someone else
answers exactly as a note that does not exist, so ids cannot be probed. Browsers may call it from one
origin only (the demo SPA's), with the token in the Authorization header and never with cookies.

Storage is this process's memory, bounded: this is a demo, and its notes are gone when it stops. A real
API would put `NoteStore`'s three methods in front of a database. Requires FastAPI (`passportoffice[demo]`).
"""

# No `from __future__ import annotations`: FastAPI reads the endpoints' annotations at run time, and the
# Annotated dependencies below are local to create_notes_api, where string annotations cannot be resolved.
import secrets
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from passportoffice.guard import InvalidToken, VerifiedToken, error_response
from passportoffice.guard.fastapi import BearerAuth
from passportoffice.guard.verifying import Verifier

__all__ = ["MAX_NOTES_PER_OWNER", "MAX_NOTE_LENGTH", "READ", "WRITE", "Note", "NoteStore", "create_notes_api"]

READ, WRITE = "notes:read", "notes:write"
MAX_NOTE_LENGTH = 1000  # characters
MAX_NOTES_PER_OWNER = 100  # memory stays bounded by the number of real users the issuer has
MAX_BODY_BYTES = 8 * 1024  # a note in JSON, with room for escapes; checked before the body is parsed
_NO_STORE = {"Cache-Control": "no-store"}


@dataclass(frozen=True, slots=True)
class Note:
    id: str
    text: str
    created_at: int


class NoteStore:
    """Each owner's notes, by id, in insertion order. Owners are token subjects; ids are random."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._notes: dict[str, dict[str, Note]] = {}
        self._clock = clock

    def list(self, owner: str) -> list[Note]:
        return list(self._notes.get(owner, {}).values())

    def add(self, owner: str, text: str) -> Note | None:
        """The new note, or None when the owner already has MAX_NOTES_PER_OWNER."""
        notes = self._notes.setdefault(owner, {})
        if len(notes) >= MAX_NOTES_PER_OWNER:
            return None
        note = Note(secrets.token_urlsafe(12), text, int(self._clock()))
        notes[note.id] = note
        return note

    def delete(self, owner: str, note_id: str) -> bool:
        """Whether the owner had that note (another owner's note is never touched)."""
        notes = self._notes.get(owner)
        return notes is not None and notes.pop(note_id, None) is not None


class NewNote(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    text: str = Field(min_length=1, max_length=MAX_NOTE_LENGTH)


def create_notes_api(verifier: Verifier, origin: str, store: NoteStore | None = None) -> FastAPI:
    """The notes API, checking tokens with `verifier` (which it closes on shutdown), callable from `origin`."""
    notes = store or NoteStore()
    bearer = BearerAuth(verifier)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await verifier.aclose()

    app = FastAPI(title="passportoffice demo notes API", lifespan=lifespan, docs_url=None, redoc_url=None)

    def owner(token: VerifiedToken) -> str:
        if not token.subject:
            # RFC 9068 §2.2 requires `sub`; without it there is nobody to own a note.
            raise InvalidToken("the token names no subject")
        return token.subject

    Reader = Annotated[VerifiedToken, Depends(bearer.require_scopes(READ))]
    Writer = Annotated[VerifiedToken, Depends(bearer.require_scopes(WRITE))]

    @app.get("/notes")
    async def list_notes(token: Reader) -> JSONResponse:
        return JSONResponse({"notes": [asdict(note) for note in notes.list(owner(token))]}, headers=_NO_STORE)

    @app.post("/notes", status_code=201)
    async def add_note(new: NewNote, token: Writer) -> JSONResponse:
        note = notes.add(owner(token), new.text)
        if note is None:
            return _error(409, "too_many_notes", f"at most {MAX_NOTES_PER_OWNER} notes each in this demo")
        return JSONResponse(asdict(note), status_code=201, headers={"Location": f"/notes/{note.id}", **_NO_STORE})

    @app.delete("/notes/{note_id}", status_code=204)
    async def delete_note(note_id: str, token: Writer) -> Response:
        if not notes.delete(owner(token), note_id):
            return _error(404, "not_found", "no such note")
        return Response(status_code=204)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.exception_handler(InvalidToken)
    async def refused(request: Request, exc: InvalidToken) -> JSONResponse:
        rendered = error_response(exc)
        return JSONResponse(rendered.body, status_code=rendered.status_code, headers=rendered.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_body(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own 422 echoes the input back; the shape expected is all a caller needs.
        description = f'the body must be JSON {{"text": "..."}} with 1 to {MAX_NOTE_LENGTH} characters'
        return _error(400, "invalid_request", description)

    app.add_middleware(_BodyLimit, max_bytes=MAX_BODY_BYTES)
    # Outermost, so that preflights are answered before authentication and refusals carry CORS headers
    # (the SPA must be able to read a 401's WWW-Authenticate). No credentials: the token is a header.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=[origin],
        allow_methods=["GET", "POST", "DELETE"],
        allow_headers=["Authorization", "Content-Type"],
        expose_headers=["WWW-Authenticate", "Location"],
        max_age=600,
    )
    return app


def _error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status, headers=_NO_STORE)


class _BodyLimit:
    """413 for a request body over `max_bytes`: by its Content-Length before reading, else while reading it.

    The body (a few KiB at most) is read here and handed on whole, so the app never parses a large one.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = _error(413, "invalid_request", "the request body is too large")
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared and (not declared.isdigit() or int(declared) > self.max_bytes):
            await too_large(scope, receive, send)
            return
        body, message = b"", await receive()
        while message["type"] == "http.request":
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                await too_large(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
            message = await receive()
        first: Message | None = {"type": "http.request", "body": body} if message["type"] == "http.request" else message

        async def replay() -> Message:
            nonlocal first
            if first is not None:
                message, first = first, None
                return message
            return await receive()

        await self.app(scope, replay, send)

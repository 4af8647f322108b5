"""Delivering back-channel logouts: OpenID Connect Back-Channel Logout 1.0 §2.4-§2.5, §2.8.

Notifications come from the outbox that `end_session` fills in the same transaction as the logout
(`storage.sql.logout`). Any instance delivers them: each attempt is claimed by a compare-and-set on its
row, so it is sent once however many instances poll. The logout token is minted per attempt (fresh
`iat`, `exp`, `jti`), signed like the client's ID tokens, typed `logout+jwt`, and POSTed as a form with
a bounded timeout and no redirects. A 200 or 204 finishes it; a network error, 5xx, 408 or 429 is
retried with exponential backoff up to `backchannel_logout_attempts`; any other answer means the client
refused the token, so retrying cannot help. Logs name the client and the outcome, never the token.
"""

from __future__ import annotations

import logging

import anyio
import httpx

from passportoffice.protocol.claims import LOGOUT_TOKEN_TYP, logout_token_claims
from passportoffice.protocol.secrets import new_token
from passportoffice.provider.context import Provider
from passportoffice.provider.tokens import sign
from passportoffice.storage.records import LogoutNotification

__all__ = ["LogoutDelivery"]

log = logging.getLogger("passportoffice.backchannel")

BATCH = 50
_RETRYABLE = frozenset({408, 429})


class LogoutDelivery:
    def __init__(self, provider: Provider, http: httpx.AsyncClient | None = None) -> None:
        self._provider = provider
        self._http = http
        self._wake = anyio.Event()
        self._stopping = False
        self.stopped = anyio.Event()

    def stop(self) -> None:
        """Finish the attempts under way, then return from `run_forever` (never cancelled mid-query)."""
        self._stopping = True
        self._wake.set()

    def wake(self) -> None:
        """Deliver now rather than at the next poll (called after this instance queued a logout)."""
        self._wake.set()

    async def run_forever(self) -> None:
        settings = self._provider.settings
        try:
            async with httpx.AsyncClient(follow_redirects=False) as http:
                self._http = http
                while True:
                    with anyio.move_on_after(settings.backchannel_logout_poll_interval):
                        await self._wake.wait()
                    self._wake = anyio.Event()
                    if self._stopping:
                        return
                    try:
                        await self.deliver_due()
                    except Exception as exc:  # the database may be down; try again at the next tick
                        log.warning("back-channel logout delivery failed: %s", type(exc).__name__)
        finally:
            self.stopped.set()

    async def deliver_due(self) -> int:
        """Send every due notification this instance can claim, concurrently; returns how many got through."""
        provider = self._provider
        due = await provider.storage.due_logout_notifications(provider.now(), BATCH)
        delivered = 0

        async def one(notification: LogoutNotification) -> None:
            nonlocal delivered
            try:
                if await self._deliver(notification):
                    delivered += 1
            except Exception as exc:  # one broken notification must not hold up the others
                # Its claim lapses after the lease, and the next poll tries it again.
                log.warning("back-channel logout to client %s failed: %s", notification.client_id, type(exc).__name__)

        async with anyio.create_task_group() as tasks:
            for notification in due:
                tasks.start_soon(one, notification)
        return delivered

    async def _deliver(self, notification: LogoutNotification) -> bool:
        provider, settings = self._provider, self._provider.settings
        now = provider.now()
        # The lease outlasts one attempt, so another instance takes over only from a crashed one.
        lease = now + int(settings.backchannel_logout_timeout) + 30
        if not await provider.storage.claim_logout_notification(notification.id, now, lease):
            return False
        attempt = notification.attempts + 1
        client = await provider.storage.get_client(notification.client_id)
        if client is None or client.backchannel_logout_uri is None:
            await provider.storage.finish_logout_notification(notification.id)
            return False
        claims = logout_token_claims(
            issuer=settings.issuer,
            client_id=client.client_id,
            subject=notification.sub,
            sid=notification.sid,
            issued_at=now,
            lifetime=settings.logout_token_ttl,
            jti=new_token(16),
        )
        token = sign(provider, claims, client.id_token_signed_response_alg, LOGOUT_TOKEN_TYP)
        status: int | None = None
        try:
            response = await self._client().post(
                client.backchannel_logout_uri,
                data={"logout_token": token},
                headers={"Cache-Control": "no-store"},
                timeout=settings.backchannel_logout_timeout,
            )
            status = response.status_code
            outcome = f"answered {status}"
        except httpx.HTTPError as exc:
            outcome = f"failed ({type(exc).__name__})"
        if status in (200, 204):
            await provider.storage.finish_logout_notification(notification.id)
            log.info("back-channel logout delivered to client %s", client.client_id)
            return True
        retryable = status is None or status >= 500 or status in _RETRYABLE
        if retryable and attempt < settings.backchannel_logout_attempts:
            await provider.storage.retry_logout_notification(notification.id, provider.now() + 2**attempt)
            log.warning(
                "back-channel logout to client %s %s; attempt %d of %d, retrying",
                client.client_id, outcome, attempt, settings.backchannel_logout_attempts,
            )
        else:
            await provider.storage.finish_logout_notification(notification.id)
            log.warning("back-channel logout to client %s %s; given up", client.client_id, outcome)
        return False

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(follow_redirects=False)
        return self._http

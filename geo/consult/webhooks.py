"""Webhooks: the city's project system follows a consultation without polling.

Events are written to an outbox (``consult_events``) in the same transaction as the change
they report, then POSTed to one configured URL as a JSON body signed with HMAC-SHA256:
``X-Lantu-Signature: t=<unix seconds>,v1=<hex of HMAC(secret, "<t>." + body)>`` (the time
is signed too, so a captured request cannot be replayed later). ``X-Lantu-Event`` names the
event, ``X-Lantu-Delivery`` is its id: delivery is at least once, receivers drop repeats.
A failed POST (network error or a non-2xx answer) is retried with exponential back-off;
an event still undelivered stays in the outbox, in order, for the next delivery run.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from geo.consult.tables import consult_events

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Lantu-Signature"


@dataclass(frozen=True)
class Webhook:
    url: str
    secret: str
    attempts: int = 3  # per event and delivery run
    backoff: float = 0.5  # seconds before the second attempt, doubled after each failure
    timeout: float = 5.0


def sign(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str, body: bytes, *, tolerance: float = 300.0, now: float | None = None) -> bool:
    """What a receiver checks: the signature over the time and body, and that the time is recent."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, body, timestamp), f"t={timestamp},v1={fields.get('v1', '')}")


def record(conn: Connection, kind: str, payload: dict[str, Any]) -> None:
    """Put an event in the outbox, inside the caller's transaction."""
    conn.execute(
        insert(consult_events).values(
            kind=kind,
            payload=json.dumps(payload, ensure_ascii=False, sort_keys=True),
            created=datetime.now(UTC),
            attempts=0,
        )
    )


def _post(webhook: Webhook, event_id: int, kind: str, body: bytes) -> None:
    request = urllib.request.Request(
        webhook.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "lantu-webhook",
            "X-Lantu-Event": kind,
            "X-Lantu-Delivery": str(event_id),
            SIGNATURE_HEADER: sign(webhook.secret, body, int(time.time())),
        },
    )
    with urllib.request.urlopen(request, timeout=webhook.timeout) as response:
        response.read()


def deliver_pending(engine: Engine, webhook: Webhook | None) -> int:
    """POST every undelivered event in order; stop at one that keeps failing. Returns how many were delivered."""
    if webhook is None:
        return 0
    with engine.connect() as conn:
        pending = conn.execute(
            select(consult_events.c.id, consult_events.c.kind, consult_events.c.payload)
            .where(consult_events.c.delivered.is_(None))
            .order_by(consult_events.c.id)
        ).all()
    delivered = 0
    for event_id, kind, payload in pending:
        body = json.dumps(
            {"id": event_id, "event": kind, "data": json.loads(payload)}, ensure_ascii=False, sort_keys=True
        ).encode("utf-8")
        error: str | None = None
        tries = 0
        for attempt in range(webhook.attempts):
            if attempt:
                time.sleep(webhook.backoff * 2 ** (attempt - 1))
            tries += 1
            try:
                _post(webhook, event_id, kind, body)
                error = None
                break
            except (urllib.error.URLError, OSError, ValueError) as exc:
                error = str(exc)[:500]
                log.warning("webhook %s event %d attempt %d failed: %s", webhook.url, event_id, tries, error)
        with engine.begin() as conn:
            conn.execute(
                update(consult_events)
                .where(consult_events.c.id == event_id)
                .values(
                    attempts=consult_events.c.attempts + tries,
                    last_error=error,
                    delivered=None if error else datetime.now(UTC),
                )
            )
        if error:
            return delivered  # later events wait: the receiver sees them in order
        delivered += 1
    return delivered

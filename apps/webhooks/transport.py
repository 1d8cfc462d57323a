"""One HTTP attempt of a delivery: to the checked address, no redirects, short timeouts, a bounded answer."""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx
from django.conf import settings

from apps.webhooks.errors import WebhookURLBlocked, WebhookURLInvalid
from apps.webhooks.url_safety import url_resolve_checked

KEPT_RESPONSE_CHARS = 2000  # of the receiver's answer, for the delivery log
READ_RESPONSE_BYTES = 16 * 1024
USER_AGENT = "Docent-Webhooks/1.0"


@dataclass(frozen=True)
class Outcome:
    succeeded: bool
    status_code: int | None
    latency_ms: int
    response_body: str
    error: str


def post(*, url: str, headers: dict[str, str], body: str) -> Outcome:
    """POST `body` to `url`; a 2xx answer is a success, anything else (a redirect included) a failure."""
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        target = url_resolve_checked(url)
    except (WebhookURLBlocked, WebhookURLInvalid) as exc:
        return Outcome(False, None, elapsed(), "", f"Refused before sending: {exc.message}")
    deadline = started + float(settings.WEBHOOK_TIMEOUT_SECONDS)
    timeout = httpx.Timeout(
        float(settings.WEBHOOK_TIMEOUT_SECONDS), connect=float(settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS)
    )
    request_headers = {
        **headers,
        "Host": target.host_header,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }
    try:
        with (
            httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client,
            client.stream(
                "POST",
                target.connect_url,
                content=body.encode(),
                headers=request_headers,
                extensions={"sni_hostname": target.host},
            ) as response,
        ):
            received = bytearray()
            for piece in response.iter_bytes():
                received.extend(piece)
                if len(received) >= READ_RESPONSE_BYTES or time.monotonic() > deadline:
                    break
            # NUL cannot be stored in PostgreSQL text or JSON
            text = bytes(received).decode("utf-8", errors="replace").replace("\x00", "")[:KEPT_RESPONSE_CHARS]
            status = response.status_code
    except httpx.ConnectTimeout:
        return Outcome(False, None, elapsed(), "", "Timed out connecting to the endpoint.")
    except httpx.TimeoutException:
        return Outcome(False, None, elapsed(), "", "The endpoint did not answer in time.")
    except (httpx.HTTPError, httpx.InvalidURL, OSError, ValueError) as exc:
        return Outcome(False, None, elapsed(), "", f"The request failed: {type(exc).__name__}.")
    if 200 <= status < 300:
        return Outcome(True, status, elapsed(), text, "")
    if 300 <= status < 400:
        return Outcome(False, status, elapsed(), text, f"HTTP {status}: redirects are not followed.")
    return Outcome(False, status, elapsed(), text, f"HTTP {status}.")

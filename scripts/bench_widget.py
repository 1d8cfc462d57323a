"""`make bench-widget`: the per-request cost of the widget door's checks (visitor token + origin, every call).

Times, through Django's test client in one process (embedded PostgreSQL, dev settings), with the full
middleware stack:
  healthz          GET /healthz: no authentication (the floor)
  preflight        OPTIONS /widget/v1/messages from an allowed origin (the cached any-bot check)
  authenticate     apps.widget.services.visitor_authenticate() alone: JWT check, bot, origin, visitor
  history          GET /widget/v1/conversation: token + origin + a 10-message conversation read
  session          POST /widget/v1/session with a resume secret (the visitor comes back)
and prints medians in microseconds and the ratios. Uses Redis when one answers (rate-limit counters).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

from request_timing import bench_redis_url, median_us  # noqa: E402

N = int(os.environ.get("BENCH_N", "1000"))
WARMUP = 50
ORIGIN = "https://bench-shop.example"


def _median_us(fn: Any) -> float:
    return median_us(fn, n=N, warmup=WARMUP)


def main() -> int:
    os.environ["REDIS_URL"] = bench_redis_url()
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import override_settings

    from apps.chatbot.models import Chatbot
    from apps.chatbot.services.answer import chat_turn_stream
    from apps.organizations.models import Organization
    from apps.widget.services import visitor_authenticate, widget_message_send, widget_session_open

    call_command("migrate", verbosity=0)
    organization, _ = Organization.objects.get_or_create(slug="bench-widget", defaults={"name": "Bench widget"})
    bot = Chatbot.objects.for_org(organization).filter(name="Bench widget bot").first() or Chatbot.objects.create(
        organization=organization, name="Bench widget bot", allowed_origins=[ORIGIN]
    )
    rates = {name: "1000000/min" for name in settings.WIDGET_RATES}
    with override_settings(WIDGET_RATES=rates):
        session = widget_session_open(key=bot.publishable_key, origin=ORIGIN, ip="127.0.0.1")
        context = visitor_authenticate(token=session.token, origin=ORIGIN)
        for number in range(5):  # a 10-message conversation (offline answers)
            sent = widget_message_send(context=context, text=f"Question number {number}?")
            assert sent.turn is not None
            for _event in chat_turn_stream(sent.turn):
                pass
        client = Client(HTTP_HOST="127.0.0.1")
        headers: dict[str, Any] = {"HTTP_ORIGIN": ORIGIN, "HTTP_AUTHORIZATION": f"Bearer {session.token}"}
        history = client.get("/widget/v1/conversation", **headers)
        if history.status_code != 200 or len(history.json()["messages"]) != 10:
            print(f"setup failed: {history.status_code} {history.content[:200]!r}")
            return 1
        body = {"key": bot.publishable_key, "resume": session.resume}
        healthz = _median_us(lambda: client.get("/healthz"))
        preflight = _median_us(
            lambda: client.options("/widget/v1/messages", HTTP_ORIGIN=ORIGIN, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
        )
        authenticate = _median_us(lambda: visitor_authenticate(token=session.token, origin=ORIGIN))
        read = _median_us(lambda: client.get("/widget/v1/conversation", **headers))
        reopen = _median_us(
            lambda: client.post("/widget/v1/session", body, content_type="application/json", HTTP_ORIGIN=ORIGIN)
        )

    backend = f"redis ({settings.REDIS_URL})" if settings.USE_REDIS else "local cache fallback (no Redis)"
    print(f"backend: {backend}; {N} requests each after {WARMUP} warm-up, medians")
    print(f"GET /healthz (no auth)                      {healthz:8.0f} us")
    print(f"OPTIONS preflight, allowed origin           {preflight:8.0f} us")
    print(f"visitor_authenticate() alone                {authenticate:8.0f} us")
    print(f"GET /widget/v1/conversation (10 messages)   {read:8.0f} us")
    print(f"POST /widget/v1/session (resume)            {reopen:8.0f} us")
    print(f"ratio history read / healthz: {read / healthz:.2f}x")
    print(f"share of the history read spent authenticating: {authenticate / read:.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Test data for the cluster tests and `make bench-cluster`, written through the services into the cluster's own
database. Run with the cluster's environment (cluster.env); prints one JSON object.

    python -m tests.cluster.seed [--provider-url URL] [--documents N]
"""

from __future__ import annotations

import argparse
import json
import uuid

import django

django.setup()

from django.utils import timezone  # noqa: E402
from rest_framework_simplejwt.tokens import RefreshToken  # noqa: E402

from apps.api_keys.models import ALL_SCOPES  # noqa: E402
from apps.api_keys.services import api_key_create  # noqa: E402
from apps.chat.services import room_group_create  # noqa: E402
from apps.chatbot.services.bots import bot_create  # noqa: E402
from apps.chatbot_provider.models import ProviderKind  # noqa: E402
from apps.chatbot_provider.services import provider_create  # noqa: E402
from apps.documents.services.documents import collection_create, document_create_from_text  # noqa: E402
from apps.organizations.actors import Actor  # noqa: E402
from apps.organizations.models import Membership, Role  # noqa: E402
from apps.organizations.services import organization_create  # noqa: E402
from apps.users.models import User  # noqa: E402

SHOP = "https://shop.example"
HANDBOOK = """Employee handbook

Vacation. Employees get 25 days of paid vacation per year. Vacation requests go to the team lead at least two
weeks ahead. Unused days carry over to the first quarter of the next year.

Office hours. The office opens at 8 am and closes at 6 pm on weekdays. On public holidays it is closed.

Equipment. Every employee gets a laptop and a monitor. Broken equipment is replaced by the IT desk within two
working days; report it through the service portal.
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--provider-url", default="", help="an OpenAI-compatible server for a second bot")
    parser.add_argument("--documents", type=int, default=1, help="handbook copies to index")
    args = parser.parse_args()
    run = uuid.uuid4().hex[:8]
    owner = User.objects.create_user(f"owner-{run}@cluster.test", None, email_verified_at=timezone.now())
    member = User.objects.create_user(f"member-{run}@cluster.test", None, email_verified_at=timezone.now())
    organization = organization_create(actor=Actor.for_user(owner), name=f"Cluster {run}")
    membership = Membership.objects.for_org(organization).get(user=owner)
    Membership.objects.create(organization=organization, user=member, role=Role.MEMBER)
    actor = Actor.for_user(owner).in_organization(organization, membership)
    collection = collection_create(organization=organization, actor=actor, name="Handbook")
    documents = [
        str(
            document_create_from_text(
                collection=collection, actor=actor, title=f"Handbook {i}", text=f"{HANDBOOK}\nCopy {i}.\n"
            ).document.pk
        )
        for i in range(args.documents)
    ]
    bot = bot_create(
        organization=organization, actor=actor, name="Offline", min_relevance=0.0, collections=[collection.pk]
    )
    slow_bot = None
    if args.provider_url:
        provider = provider_create(
            organization=organization,
            actor=actor,
            name="Loopback",
            kind=ProviderKind.OPENAI_COMPATIBLE,
            base_url=args.provider_url,
            api_key="",
            default_chat_model="loop",
            default_embedding_model="loop-embed",
        )
        slow_bot = bot_create(
            organization=organization,
            actor=actor,
            name="Loopback",
            provider=provider,
            min_relevance=0.0,
            collections=[collection.pk],
        )
    # Embedded on a shop's site, handing over to people: the widget's visitors and the members who answer them
    shop_bot = bot_create(
        organization=organization,
        actor=actor,
        name="Shop",
        min_relevance=0.0,
        collections=[collection.pk],
        allowed_origins=[SHOP],
        handoff_enabled=True,
    )
    room = room_group_create(actor=actor, title="Cluster room", user_ids=[member.pk])

    def key(name: str, **limits: int) -> dict[str, str]:
        issued = api_key_create(organization=organization, actor=actor, name=name, scopes=list(ALL_SCOPES), **limits)
        return {"id": str(issued.api_key.pk), "key": issued.plaintext}

    print(
        json.dumps(
            {
                "organization": str(organization.pk),
                "owner": {"id": str(owner.pk), "jwt": str(RefreshToken.for_user(owner).access_token)},
                "member": {"id": str(member.pk), "jwt": str(RefreshToken.for_user(member).access_token)},
                "collection": str(collection.pk),
                "documents": documents,
                "bot": str(bot.pk),
                "slow_bot": str(slow_bot.pk) if slow_bot else None,
                "room": str(room.pk),
                "widget": {"bot": str(shop_bot.pk), "key": shop_bot.publishable_key, "origin": SHOP},
                "key": key("cluster"),
                "rate_limited_key": key("ten per minute", rate_limit_per_minute=10),
                "quota_key": key("six a day", daily_request_quota=6),
            }
        )
    )


if __name__ == "__main__":
    main()

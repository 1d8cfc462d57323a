"""Demo data for `make run`: a collection with two short documents (indexed by the running worker)."""

from __future__ import annotations

from apps.documents.models import Collection
from apps.documents.services import documents as document_services
from apps.organizations.actors import Actor

DEMO_DOCUMENTS = {
    "Returns and refunds": (
        "# Returns and refunds\n\nYou can return any item within 30 days of delivery. Refunds go back to the "
        "original payment method within 14 days of our receiving the item.\n\n## Damaged items\n\nIf an item "
        "arrives damaged, send us a photo within 7 days and we ship a replacement at no cost."
    ),
    "Pump maintenance": (
        "# Pump maintenance\n\nCheck the impeller every six months and clean the intake screen. Replace the "
        "mechanical seal when it leaks around the shaft.\n\n## Bearings\n\nGrease the bearings every 2,000 "
        "operating hours with a lithium-based grease."
    ),
}


def seed(*, actor: Actor) -> None:
    organization = actor.org
    collection = Collection.objects.for_org(organization).filter(name="Handbook").first()
    if collection is None:
        collection = document_services.collection_create(
            organization=organization, actor=actor, name="Handbook", description="Demo documents"
        )
    for title, text in DEMO_DOCUMENTS.items():
        document_services.document_create_from_text(collection=collection, actor=actor, title=title, text=text)

import re

from django.core import mail


def link_token(kind: str) -> str:
    """The token in the last email's link /<kind>/<token>/."""
    assert mail.outbox, "no email was sent"
    match = re.search(rf"/{kind}/([\w-]+)/", mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return match.group(1)

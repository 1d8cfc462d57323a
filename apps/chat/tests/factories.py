"""Test data of the chat app: members (the rooms' requests name users, which the isolation suite must be
able to make per organization) and rooms."""

from apps.chatbot.models import Conversation, Participant
from apps.organizations.tests.factories import MembershipFactory
from apps.organizations.tests.isolation import register_factory
from apps.users.models import User


def member_user(*, organization) -> User:
    """A user who is a member of `organization` (the rooms' requests name users, who are not tenant rows)."""
    return MembershipFactory(organization=organization).user  # type: ignore[no-any-return]


register_factory(User, member_user)


def group_room(*, organization, owner: User, members: list[User] = (), title: str = "Team") -> Conversation:
    conversation = Conversation.objects.create(
        organization=organization, kind=Conversation.Kind.GROUP, source=Conversation.Source.ROOM, title=title
    )
    for user in [owner, *members]:
        Participant.objects.create(
            organization=organization,
            conversation=conversation,
            kind=Participant.Kind.USER,
            user=user,
            role=Participant.Role.OWNER if user == owner else Participant.Role.MEMBER,
        )
    return conversation

"""Member rooms over REST: direct (one per pair) and group conversations, membership, history by seq, unread
counts, and messages (idempotent sends, length limit, replies, mentions)."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.db import connection

from apps.chatbot.models import Conversation, Message
from apps.chatbot.tests.factories import ConversationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(organization, make_member_client):
    return make_member_client(organization)


@pytest.fixture
def bob(organization, make_member_client):
    return make_member_client(organization)


@pytest.fixture
def carol(organization, make_member_client):
    return make_member_client(organization)


def _group(client, *others, title="Launch"):
    response = client.post(
        "/api/v1/rooms",
        {"kind": "group", "title": title, "user_ids": [str(o.user.pk) for o in others]},
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def _send(client, room_id, text, **extra):
    return client.post(f"/api/v1/rooms/{room_id}/messages", {"text": text, **extra}, format="json")


def _messages_in_db(room_id) -> int:
    return Message.objects.unscoped().filter(conversation_id=room_id).count()


def test_a_direct_room_is_created_once_per_pair_whoever_opens_it(alice, bob):
    first = alice.post("/api/v1/rooms", {"kind": "direct", "user_id": str(bob.user.pk)}, format="json")
    assert first.status_code == 201
    again = bob.post("/api/v1/rooms", {"kind": "direct", "user_id": str(alice.user.pk)}, format="json")
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert {p["id"] for p in first.json()["participants"]} == {str(alice.user.pk), str(bob.user.pk)}


@pytest.mark.django_db(transaction=True)
def test_two_members_opening_their_direct_room_at_once_get_the_same_one(organization, make_member_client):
    alice, bob = make_member_client(organization), make_member_client(organization)
    barrier, answers = threading.Barrier(2), {}

    def open_room(name, client, other):
        barrier.wait()
        try:
            answers[name] = client.post("/api/v1/rooms", {"kind": "direct", "user_id": str(other.pk)}, format="json")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=open_room, args=("alice", alice, bob.user)),
        threading.Thread(target=open_room, args=("bob", bob, alice.user)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {answers["alice"].status_code, answers["bob"].status_code} <= {200, 201}
    assert answers["alice"].json()["id"] == answers["bob"].json()["id"]
    assert Conversation.objects.for_org(organization).filter(kind="direct").count() == 1


def test_a_direct_room_is_with_a_member_of_the_organization_and_not_oneself(alice, other_organization):
    from apps.organizations.tests.factories import MembershipFactory

    stranger = MembershipFactory(organization=other_organization).user
    response = alice.post("/api/v1/rooms", {"kind": "direct", "user_id": str(stranger.pk)}, format="json")
    assert response.status_code == 400
    assert "user_id" in response.json()["error"]["details"]
    response = alice.post("/api/v1/rooms", {"kind": "direct", "user_id": str(alice.user.pk)}, format="json")
    assert response.status_code == 400


def test_only_members_of_the_organization_can_be_added_to_a_group(alice, bob, other_organization):
    from apps.organizations.tests.factories import MembershipFactory

    stranger = MembershipFactory(organization=other_organization).user
    room = _group(alice, bob)
    response = alice.post(f"/api/v1/rooms/{room['id']}/members", {"user_ids": [str(stranger.pk)]}, format="json")
    assert response.status_code == 400
    assert "user_ids" in response.json()["error"]["details"]
    detail = alice.get(f"/api/v1/rooms/{room['id']}").json()
    assert {p["id"] for p in detail["participants"]} == {str(alice.user.pk), str(bob.user.pk)}


def test_a_member_sees_only_the_rooms_they_take_part_in(alice, bob, carol, organization):
    room = _group(alice, bob)
    ConversationFactory(bot__organization=organization)  # a bot conversation is not a room
    assert [r["id"] for r in bob.get("/api/v1/rooms").json()["results"]] == [room["id"]]
    assert carol.get("/api/v1/rooms").json()["results"] == []
    assert carol.get(f"/api/v1/rooms/{room['id']}").status_code == 404
    assert carol.get(f"/api/v1/rooms/{room['id']}/messages").status_code == 404
    assert _send(carol, room["id"], "hi").status_code == 404
    # rooms are not listed with the bot conversations either
    listed = {c["id"] for c in carol.get("/api/v1/conversations").json()["results"]}
    assert room["id"] not in listed


def test_api_keys_cannot_use_rooms(api_key_client):
    assert api_key_client.get("/api/v1/rooms").status_code == 403


def test_group_membership_add_remove_leave_and_rename(alice, bob, carol):
    room = _group(alice, bob)
    assert bob.patch(f"/api/v1/rooms/{room['id']}", {"title": "Mine"}, format="json").status_code == 403
    assert alice.patch(f"/api/v1/rooms/{room['id']}", {"title": "Launch v2"}, format="json").json()["title"] == (
        "Launch v2"
    )
    added = bob.post(f"/api/v1/rooms/{room['id']}/members", {"user_ids": [str(carol.user.pk)]}, format="json")
    assert added.json() == {"added": [str(carol.user.pk)], "bots_added": []}
    assert carol.get(f"/api/v1/rooms/{room['id']}").status_code == 200
    # a member cannot remove another; an owner can
    assert bob.delete(f"/api/v1/rooms/{room['id']}/members/{carol.user.pk}").status_code == 403
    assert alice.delete(f"/api/v1/rooms/{room['id']}/members/{carol.user.pk}").status_code == 204
    assert carol.get(f"/api/v1/rooms/{room['id']}").status_code == 404
    # the last owner leaving hands the group to the longest-standing member
    assert alice.post(f"/api/v1/rooms/{room['id']}/leave").status_code == 204
    detail = bob.get(f"/api/v1/rooms/{room['id']}").json()
    assert [(p["id"], p["role"]) for p in detail["participants"]] == [(str(bob.user.pk), "owner")]
    assert _send(alice, room["id"], "still here?").status_code == 404


def test_a_direct_room_has_no_members_to_add(alice, bob, carol):
    room = alice.post("/api/v1/rooms", {"kind": "direct", "user_id": str(bob.user.pk)}, format="json").json()
    response = alice.post(f"/api/v1/rooms/{room['id']}/members", {"user_ids": [str(carol.user.pk)]}, format="json")
    assert response.status_code == 409


def test_sending_with_the_same_client_msg_id_stores_one_message(alice, bob):
    room = _group(alice, bob)
    first = _send(alice, room["id"], "hello", client_msg_id="c-1")
    again = _send(alice, room["id"], "hello", client_msg_id="c-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"] and again.json()["seq"] == 1
    assert _messages_in_db(room["id"]) == 1
    # another member's identical key is their own message
    assert _send(bob, room["id"], "hello", client_msg_id="c-1").json()["seq"] == 2


@pytest.mark.django_db(transaction=True)
def test_members_sending_at_once_get_numbers_without_gaps_and_a_raced_resend_stores_one(
    organization, make_member_client
):
    alice, bob = make_member_client(organization), make_member_client(organization)
    room = _group(alice, bob)
    barrier, answers = threading.Barrier(8), []

    def send(client, index):
        barrier.wait()
        try:
            # Two of alice's sends race with the same key: one message, the same for both.
            key = "same" if index in (0, 2) else f"k-{index}"
            answers.append(_send(client, room["id"], f"message {index}", client_msg_id=key))
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(alice if i % 2 == 0 else bob, i)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(a.status_code for a in answers) == [200, *[201] * 7]
    assert len({a.json()["id"] for a in answers}) == 7
    stored = Message.objects.unscoped().filter(conversation_id=room["id"])
    assert sorted(stored.values_list("seq", flat=True)) == list(range(1, 8))
    assert stored.filter(client_msg_id="same").count() == 1
    assert Conversation.objects.unscoped().get(pk=room["id"]).last_seq == 7


@pytest.mark.django_db(transaction=True)
def test_a_send_is_two_statements_and_so_is_its_resend(organization, make_member_client, django_assert_num_queries):
    from apps.chat.services import room_message_send
    from apps.organizations.actors import Actor
    from apps.organizations.models import Membership

    alice, bob = make_member_client(organization), make_member_client(organization)
    room = _group(alice, bob)["id"]
    membership = Membership.objects.for_org(organization).get(user=alice.user)
    actor = Actor.for_user(alice.user).in_organization(organization, membership)
    # The room (with the member's message of that key, if any), then the insert, which commits on its own.
    with django_assert_num_queries(2):
        sent = room_message_send(actor=actor, conversation_id=room, text="hello", client_msg_id="k-1")
    with django_assert_num_queries(2):  # a resend finds it in the room's statement, then reads it
        again = room_message_send(actor=actor, conversation_id=room, text="hello", client_msg_id="k-1")
    assert (sent.created, again.created, again.message.pk) == (True, False, sent.message.pk)


def test_a_message_too_long_or_empty_is_refused_and_nothing_is_stored(alice, bob, settings):
    settings.ROOM_MESSAGE_MAX_CHARS = 10
    room = _group(alice, bob)
    assert _send(alice, room["id"], "x" * 10).status_code == 201
    too_long = _send(alice, room["id"], "x" * 11)
    assert too_long.status_code == 400
    assert "text" in too_long.json()["error"]["details"]
    assert _send(alice, room["id"], "   ").status_code == 400
    assert _messages_in_db(room["id"]) == 1


def test_replies_are_to_the_same_room_and_mentions_to_its_participants(alice, bob, carol):
    room = _group(alice, bob)
    other = _group(alice, carol, title="Other")
    _send(alice, other["id"], "elsewhere")
    _send(alice, room["id"], "first")
    reply = _send(bob, room["id"], "answer", reply_to=1, mentions=[str(alice.user.pk)])
    assert reply.status_code == 201
    assert reply.json()["reply_to"] == 1
    assert reply.json()["mentions"] == [{"kind": "user", "id": str(alice.user.pk)}]
    assert _send(bob, room["id"], "x", reply_to=9).status_code == 400
    assert _send(bob, room["id"], "x", mentions=[str(carol.user.pk)]).status_code == 400


def test_history_pages_backwards_and_forwards_by_seq(alice, bob):
    room = _group(alice, bob)
    for n in range(1, 8):
        _send(alice, room["id"], f"m{n}")
    latest = alice.get(f"/api/v1/rooms/{room['id']}/messages?limit=3").json()
    assert [m["seq"] for m in latest["messages"]] == [5, 6, 7]
    assert (latest["has_before"], latest["has_after"]) == (True, False)
    older = alice.get(f"/api/v1/rooms/{room['id']}/messages?before=5&limit=3").json()
    assert [m["text"] for m in older["messages"]] == ["m2", "m3", "m4"]
    oldest = alice.get(f"/api/v1/rooms/{room['id']}/messages?before=2&limit=3").json()
    assert [m["seq"] for m in oldest["messages"]] == [1]
    assert oldest["has_before"] is False
    newer = alice.get(f"/api/v1/rooms/{room['id']}/messages?after=2&limit=2").json()
    assert [m["seq"] for m in newer["messages"]] == [3, 4]
    assert newer["has_after"] is True
    caught_up = alice.get(f"/api/v1/rooms/{room['id']}/messages?after=7").json()
    assert caught_up["messages"] == [] and caught_up["has_after"] is False
    assert alice.get(f"/api/v1/rooms/{room['id']}/messages?after=x").status_code == 400
    assert alice.get(f"/api/v1/rooms/{room['id']}/messages?after=1&before=3").status_code == 400


def test_unread_counts_follow_the_read_position(alice, bob):
    room = _group(alice, bob)
    for n in range(3):
        _send(alice, room["id"], f"m{n}")
    (listed,) = bob.get("/api/v1/rooms").json()["results"]
    assert (listed["unread"], listed["last_message"]["text"]) == (3, "m2")
    assert bob.post(f"/api/v1/rooms/{room['id']}/read", {"seq": 2}, format="json").json() == {"last_read_seq": 2}
    assert bob.get("/api/v1/rooms").json()["results"][0]["unread"] == 1
    # never backwards, never past the last message
    assert bob.post(f"/api/v1/rooms/{room['id']}/read", {"seq": 1}, format="json").json() == {"last_read_seq": 2}
    assert bob.post(f"/api/v1/rooms/{room['id']}/read", {"seq": 99}, format="json").json() == {"last_read_seq": 3}
    assert bob.get("/api/v1/rooms").json()["results"][0]["unread"] == 0


def test_rooms_are_listed_by_latest_activity(alice, bob, carol):
    first = _group(alice, bob, title="First")
    second = _group(alice, carol, title="Second")
    assert [r["id"] for r in alice.get("/api/v1/rooms").json()["results"]] == [second["id"], first["id"]]
    _send(bob, first["id"], "bump")
    assert [r["id"] for r in alice.get("/api/v1/rooms").json()["results"]] == [first["id"], second["id"]]


def test_an_unknown_room_is_404(alice):
    assert alice.get(f"/api/v1/rooms/{uuid.uuid4()}").status_code == 404


def test_a_member_removed_from_the_organization_leaves_its_rooms_and_coming_back_reopens_none_of_them(
    organization, alice, bob, django_capture_on_commit_callbacks
):
    from apps.organizations.actors import Actor
    from apps.organizations.models import Membership, Role
    from apps.organizations.services import membership_remove
    from apps.organizations.tests.factories import MembershipFactory

    group = _group(alice, bob)["id"]
    direct = alice.post("/api/v1/rooms", {"kind": "direct", "user_id": str(bob.user.pk)}, format="json").json()["id"]
    assert bob.post(f"/api/v1/rooms/{group}/messages", {"text": "before I go"}, format="json").status_code == 201

    owner = Membership.objects.for_org(organization).get(user=alice.user)
    owner.role = Role.OWNER
    owner.save()
    with django_capture_on_commit_callbacks(execute=True):
        membership_remove(
            membership=Membership.objects.for_org(organization).get(user=bob.user),
            actor=Actor.for_user(alice.user).in_organization(organization, owner),
        )
    for room in (group, direct):
        members = {p["id"] for p in alice.get(f"/api/v1/rooms/{room}").json()["participants"]}
        assert members == {str(alice.user.pk)}
    history = alice.get(f"/api/v1/rooms/{group}/messages").json()["messages"]
    assert [m["text"] for m in history] == ["before I go"]  # what they wrote stays with the room

    MembershipFactory(organization=organization, user=bob.user)  # invited again later
    assert bob.get("/api/v1/rooms").json()["results"] == []
    assert bob.get(f"/api/v1/rooms/{group}/messages").status_code == 404
    assert bob.get(f"/api/v1/rooms/{direct}/messages").status_code == 404
    reopened = bob.post("/api/v1/rooms", {"kind": "direct", "user_id": str(alice.user.pk)}, format="json")
    assert reopened.json()["id"] == direct  # the one direct room of the pair, reopened by choice


def test_the_room_list_names_who_is_on_the_other_side_of_a_direct_room(alice, bob, carol):
    direct = alice.post("/api/v1/rooms", {"kind": "direct", "user_id": str(bob.user.pk)}, format="json").json()["id"]
    group = _group(alice, carol, title="Group")["id"]
    listed = {r["id"]: r for r in alice.get("/api/v1/rooms").json()["results"]}
    assert listed[direct]["other"] == {"kind": "user", "id": str(bob.user.pk)}
    assert listed[group]["other"] is None
    seen_by_bob = {r["id"]: r for r in bob.get("/api/v1/rooms").json()["results"]}
    assert seen_by_bob[direct]["other"] == {"kind": "user", "id": str(alice.user.pk)}

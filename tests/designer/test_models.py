from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.utils import timezone

from designer.models import Access, LoginToken, Share, StaleVersion, Topology, TopologyRevision
from runtime import spec as topology_spec
from runtime.spec import MAX_NAME, SpecError
from tests.builders import edge, log_node, make_document, pipeline_document, queue_node

pytestmark = pytest.mark.django_db


@pytest.fixture
def topology(alice: Any) -> Topology:
    return Topology.create_from_document(alice, pipeline_document("Orders"))


def stored(topology: Topology) -> Topology:
    return Topology.objects.get(pk=topology.pk)


def with_queue_timeout(document: dict[str, Any], seconds: int) -> dict[str, Any]:
    changed = make_document(name=document["name"], nodes=document["nodes"], edges=document["edges"])
    changed["nodes"] = [
        {**item, "config": {"visibility_timeout": seconds}} if item["id"] == "orders" else item
        for item in document["nodes"]
    ]
    return changed


# --- creating ------------------------------------------------------------------------------------


def test_create_from_document_stores_version_1_with_revision_1(alice: Any) -> None:
    document = pipeline_document("Orders", description="Takes orders in")
    topology = Topology.create_from_document(alice, document)

    topology = stored(topology)
    assert topology.owner == alice
    assert topology.name == "Orders"
    assert topology.description == "Takes orders in"
    assert topology.slug == "orders"
    assert topology.version == 1
    assert topology.document == document
    [revision] = topology.revisions.all()
    assert revision.number == 1
    assert revision.document == document
    assert revision.author == alice
    assert revision.message == "Created"


def test_create_from_document_normalises_the_document(alice: Any) -> None:
    document = make_document(nodes=[{"id": "q", "kind": "queue"}])
    del document["description"]

    topology = stored(Topology.create_from_document(alice, document))

    assert topology.document["description"] == ""
    assert topology.document["nodes"] == [
        {"id": "q", "kind": "queue", "label": "q", "x": 0, "y": 0, "config": {}}
    ]


def test_create_from_document_refuses_an_invalid_document_and_stores_nothing(alice: Any) -> None:
    document = make_document(nodes=[{"id": "q", "kind": "teleporter"}])

    with pytest.raises(SpecError) as caught:
        Topology.create_from_document(alice, document)

    assert ("/nodes/0/kind", caught.value.errors[0][1]) == caught.value.errors[0]
    assert "unknown kind 'teleporter'" in caught.value.errors[0][1]
    assert not Topology.objects.exists()
    assert not TopologyRevision.objects.exists()


def test_the_caller_cannot_change_a_stored_document_through_its_own_dict(alice: Any) -> None:
    document = pipeline_document()
    topology = Topology.create_from_document(alice, document)

    document["nodes"][0]["label"] = "changed afterwards"

    assert stored(topology).document["nodes"][0]["label"] == "orders-in"


def test_slugs_are_unique_and_never_empty(alice: Any, bob: Any) -> None:
    first = Topology.create_from_document(alice, make_document(name="Orders"))
    second = Topology.create_from_document(bob, make_document(name="Orders"))
    third = Topology.create_from_document(alice, make_document(name="Orders"))
    unsluggable = Topology.create_from_document(alice, make_document(name="★★★"))

    assert [first.slug, second.slug, third.slug] == ["orders", "orders-2", "orders-3"]
    assert unsluggable.slug == "topology"


# --- saving --------------------------------------------------------------------------------------


def test_save_document_increments_the_version_and_stores_a_new_revision(
    topology: Topology, bob: Any
) -> None:
    changed = with_queue_timeout(topology.document, 60)

    revision = topology.save_document(changed, base_version=1, author=bob, message="Longer")

    assert (revision.number, revision.author, revision.message) == (2, bob, "Longer")
    assert revision.document == changed
    current = stored(topology)
    assert current.version == 2
    assert current.document == changed
    assert list(current.revisions.values_list("number", flat=True)) == [2, 1]


def test_a_save_without_a_message_is_labelled_saved(topology: Topology, alice: Any) -> None:
    revision = topology.save_document(topology.document, base_version=1, author=alice)

    assert revision.message == "Saved"


def test_saving_leaves_earlier_revisions_untouched(topology: Topology, alice: Any) -> None:
    original = stored(topology).document

    topology.save_document(with_queue_timeout(original, 60), base_version=1, author=alice)
    topology.save_document(with_queue_timeout(original, 90), base_version=2, author=alice)

    documents = {r.number: r.document for r in TopologyRevision.objects.filter(topology=topology)}
    assert documents[1] == original
    assert documents[2]["nodes"][1]["config"] == {"visibility_timeout": 60}
    assert documents[3]["nodes"][1]["config"] == {"visibility_timeout": 90}


def test_saving_updates_the_name_and_description_from_the_document(
    topology: Topology, alice: Any
) -> None:
    document = {**topology.document, "name": "Orders v2", "description": "Now with DLQ"}

    topology.save_document(document, base_version=1, author=alice)

    current = stored(topology)
    assert (current.name, current.description) == ("Orders v2", "Now with DLQ")
    assert current.slug == "orders"


def test_it_refuses_a_stale_save_and_stores_nothing(topology: Topology, alice: Any) -> None:
    topology.save_document(with_queue_timeout(topology.document, 60), base_version=1, author=alice)
    stale_copy = Topology.objects.get(pk=topology.pk)
    topology.save_document(with_queue_timeout(topology.document, 90), base_version=2, author=alice)

    with pytest.raises(StaleVersion) as caught:
        stale_copy.save_document(
            with_queue_timeout(topology.document, 120), base_version=2, author=alice
        )

    assert (caught.value.current, caught.value.given) == (3, 2)
    assert "you edited version 2, the latest is 3" in str(caught.value)
    current = stored(topology)
    assert current.version == 3
    assert current.document["nodes"][1]["config"] == {"visibility_timeout": 90}
    assert current.revisions.count() == 3


def test_a_save_based_on_a_future_version_is_stale_too(topology: Topology, alice: Any) -> None:
    with pytest.raises(StaleVersion) as caught:
        topology.save_document(topology.document, base_version=7, author=alice)

    assert (caught.value.current, caught.value.given) == (1, 7)
    assert stored(topology).revisions.count() == 1


def test_it_refuses_an_invalid_document_and_stores_nothing(topology: Topology, alice: Any) -> None:
    broken = make_document(
        nodes=[queue_node("q", visibility_timeout=99999), log_node("sink")],
        edges=[edge("e1", "sink", "ghost")],
    )

    with pytest.raises(SpecError) as caught:
        topology.save_document(broken, base_version=1, author=alice)

    pointers = [pointer for pointer, _ in caught.value.errors]
    assert pointers == ["/nodes/0/config/visibility_timeout", "/edges/0/target"]
    current = stored(topology)
    assert current.version == 1
    assert current.document == pipeline_document("Orders")
    assert current.revisions.count() == 1


def test_an_invalid_document_is_reported_before_a_stale_version(
    topology: Topology, alice: Any
) -> None:
    with pytest.raises(SpecError):
        topology.save_document({"schema": "nope"}, base_version=5, author=alice)


# --- restoring and duplicating -------------------------------------------------------------------


def test_restore_creates_a_new_revision_equal_to_the_old_document(
    topology: Topology, alice: Any, bob: Any
) -> None:
    original = stored(topology).document
    topology.save_document(with_queue_timeout(original, 60), base_version=1, author=alice)

    revision = topology.restore(1, base_version=2, author=bob)

    assert (revision.number, revision.author) == (3, bob)
    assert revision.message == "Restored revision 1"
    assert revision.document == original
    current = stored(topology)
    assert current.version == 3
    assert current.document == original
    assert current.revisions.count() == 3


def test_restore_refuses_a_stale_version_and_loses_nothing(topology: Topology, alice: Any) -> None:
    changed = with_queue_timeout(topology.document, 60)
    topology.save_document(changed, base_version=1, author=alice)

    with pytest.raises(StaleVersion):
        topology.restore(1, base_version=1, author=alice)

    current = stored(topology)
    assert current.version == 2
    assert current.document == changed
    assert current.revisions.count() == 2


def test_restoring_an_unknown_revision_raises(topology: Topology, alice: Any) -> None:
    with pytest.raises(TopologyRevision.DoesNotExist):
        topology.restore(9, base_version=1, author=alice)


def test_duplicate_copies_the_document_for_a_new_owner(topology: Topology, bob: Any) -> None:
    copy = topology.duplicate(bob)

    copy = stored(copy)
    assert copy.pk != topology.pk
    assert copy.owner == bob
    assert copy.name == "Orders (copy)"
    assert copy.slug == "orders-copy"
    assert copy.version == 1
    assert copy.document["nodes"] == topology.document["nodes"]
    assert copy.document["edges"] == topology.document["edges"]
    assert [r.number for r in copy.revisions.all()] == [1]
    assert stored(topology).name == "Orders"


def test_duplicating_a_long_name_keeps_it_within_the_limit(alice: Any) -> None:
    topology = Topology.create_from_document(alice, make_document(name="n" * MAX_NAME))

    copy = topology.duplicate(alice)

    assert len(copy.name) == MAX_NAME


# --- access --------------------------------------------------------------------------------------


@pytest.fixture
def shared(topology: Topology, bob: Any, carol: Any) -> Topology:
    """alice owns; bob may read it."""
    Share.objects.create(topology=topology, user=bob, access=Access.READ)
    return topology


def test_the_owner_sees_edits_and_owns(shared: Topology, alice: Any) -> None:
    assert list(Topology.objects.visible_to(alice)) == [shared]
    assert list(Topology.objects.editable_by(alice)) == [shared]
    assert shared.access_for(alice) == "owner"
    assert shared.can_read(alice)
    assert shared.can_edit(alice)


def test_a_read_share_sees_but_cannot_edit(shared: Topology, bob: Any) -> None:
    assert list(Topology.objects.visible_to(bob)) == [shared]
    assert list(Topology.objects.editable_by(bob)) == []
    assert shared.access_for(bob) == "read"
    assert shared.can_read(bob)
    assert not shared.can_edit(bob)


def test_an_edit_share_sees_and_edits_but_does_not_own(topology: Topology, bob: Any) -> None:
    Share.objects.create(topology=topology, user=bob, access=Access.EDIT)

    assert list(Topology.objects.visible_to(bob)) == [topology]
    assert list(Topology.objects.editable_by(bob)) == [topology]
    assert topology.access_for(bob) == "edit"
    assert topology.can_edit(bob)


def test_a_stranger_has_no_access(shared: Topology, carol: Any) -> None:
    assert list(Topology.objects.visible_to(carol)) == []
    assert list(Topology.objects.editable_by(carol)) == []
    assert shared.access_for(carol) is None
    assert not shared.can_read(carol)
    assert not shared.can_edit(carol)


def test_an_anonymous_visitor_has_no_access(shared: Topology) -> None:
    anonymous = AnonymousUser()

    assert list(Topology.objects.visible_to(anonymous)) == []
    assert list(Topology.objects.editable_by(anonymous)) == []
    assert shared.access_for(anonymous) is None
    assert not shared.can_read(anonymous)


def test_visible_to_lists_each_topology_once_whatever_its_shares(
    alice: Any, bob: Any, carol: Any
) -> None:
    mine = Topology.create_from_document(alice, make_document(name="Mine"))
    Share.objects.create(topology=mine, user=bob, access=Access.READ)
    Share.objects.create(topology=mine, user=carol, access=Access.EDIT)
    theirs = Topology.create_from_document(bob, make_document(name="Theirs"))
    Share.objects.create(topology=theirs, user=alice, access=Access.EDIT)
    Topology.create_from_document(carol, make_document(name="Carol's"))

    assert sorted(t.name for t in Topology.objects.visible_to(alice)) == ["Mine", "Theirs"]
    assert sorted(t.name for t in Topology.objects.editable_by(alice)) == ["Mine", "Theirs"]
    assert sorted(t.name for t in Topology.objects.visible_to(bob)) == ["Mine", "Theirs"]
    assert sorted(t.name for t in Topology.objects.editable_by(bob)) == ["Theirs"]


# --- one-time login tokens -----------------------------------------------------------------------


def test_a_login_token_redeems_once(alice: Any) -> None:
    token = LoginToken.issue(alice)

    assert LoginToken.redeem(token) == alice
    assert LoginToken.redeem(token) is None
    assert LoginToken.objects.get().used_at is not None


def test_an_expired_login_token_is_refused(alice: Any) -> None:
    token = LoginToken.issue(alice)
    LoginToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    assert LoginToken.redeem(token) is None
    assert LoginToken.objects.get().used_at is None


def test_a_login_token_lives_as_long_as_the_setting_says(alice: Any, settings: Any) -> None:
    settings.FLOWYARD_LOGIN_TOKEN_TTL = 600
    before = timezone.now()

    LoginToken.issue(alice)

    expires_at = LoginToken.objects.get().expires_at
    assert before + timedelta(seconds=599) < expires_at <= timezone.now() + timedelta(seconds=600)


def test_an_unknown_login_token_is_refused(alice: Any) -> None:
    LoginToken.issue(alice)

    assert LoginToken.redeem("not-a-token") is None
    assert LoginToken.redeem("") is None


def test_only_the_hash_of_a_login_token_is_stored(alice: Any) -> None:
    token = LoginToken.issue(alice)

    stored_token = LoginToken.objects.get()
    assert len(token) >= 32
    assert stored_token.token_hash == LoginToken.hash(token)
    assert stored_token.token_hash != token
    assert token not in str(LoginToken.objects.values().get())


def test_each_login_token_is_different(alice: Any) -> None:
    assert LoginToken.issue(alice) != LoginToken.issue(alice)


# --- concurrent saves ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_of_two_concurrent_saves_from_one_version_exactly_one_wins(
    alice: Any, bob: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers itself; the row lock is PostgreSQL's")
    topology = Topology.create_from_document(alice, pipeline_document("Orders"))
    both_parsed = threading.Barrier(2, timeout=10)
    load = topology_spec.load

    def load_then_wait(document: Any) -> Any:
        parsed = load(document)
        both_parsed.wait()  # both saves have read version 1 before either locks the row
        return parsed

    monkeypatch.setattr(topology_spec, "load", load_then_wait)
    outcomes: dict[str, Any] = {}

    def save(author: Any, seconds: int) -> None:
        mine = Topology.objects.get(pk=topology.pk)
        try:
            document = with_queue_timeout(mine.document, seconds)
            outcomes[author.username] = mine.save_document(
                document, base_version=1, author=author
            ).number
        except StaleVersion as conflict:
            outcomes[author.username] = conflict
        finally:
            connection.close()

    threads = [
        threading.Thread(target=save, args=(alice, 60)),
        threading.Thread(target=save, args=(bob, 90)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    winners = [name for name, outcome in outcomes.items() if outcome == 2]
    losers = [outcome for outcome in outcomes.values() if isinstance(outcome, StaleVersion)]
    assert len(winners) == 1, outcomes
    assert [(loser.current, loser.given) for loser in losers] == [(2, 1)]
    current = stored(topology)
    assert current.version == 2
    assert current.revisions.count() == 2
    assert current.revisions.first().author.username == winners[0]

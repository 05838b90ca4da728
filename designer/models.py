"""Topologies, their immutable revisions, sharing, and one-time login tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.text import slugify

from designer.fields import OrderedJSONField
from runtime import spec as topology_spec
from runtime.spec import TopologySpec


class StaleVersion(Exception):
    """A save was based on a version that is no longer the latest."""

    def __init__(self, current: int, given: int) -> None:
        self.current = current
        self.given = given
        super().__init__(
            f"This topology was changed since you loaded it (you edited version {given}, the "
            f"latest is {current}). Reload to see the latest version; your edits are kept."
        )


class RunState(models.TextChoices):
    STOPPED = "stopped", "Stopped"
    STARTING = "starting", "Starting"
    RUNNING = "running", "Running"
    PAUSED = "paused", "Paused"
    FAILED = "failed", "Failed"


class Access(models.TextChoices):
    READ = "read", "Read"
    EDIT = "edit", "Edit"


class TopologyQuerySet(models.QuerySet["Topology"]):
    def visible_to(self, user: Any) -> TopologyQuerySet:
        if not user.is_authenticated:
            return self.none()
        return self.filter(Q(owner=user) | Q(shares__user=user)).distinct()

    def editable_by(self, user: Any) -> TopologyQuerySet:
        if not user.is_authenticated:
            return self.none()
        shared_for_edit = Q(shares__user=user, shares__access=Access.EDIT)
        return self.filter(Q(owner=user) | shared_for_edit).distinct()


class Topology(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="topologies"
    )
    name = models.CharField(max_length=topology_spec.MAX_NAME)
    slug = models.SlugField(max_length=80, unique=True)
    description = models.TextField(blank=True, max_length=topology_spec.MAX_DESCRIPTION)
    document = OrderedJSONField()
    version = models.PositiveIntegerField(default=1)
    # What the topology's run should be doing and which revision it runs: whatever hosts runs
    # reconciles to these, so a restarted server resumes the runs that were running.
    run_state = models.CharField(max_length=16, choices=RunState, default=RunState.STOPPED)
    run_revision = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TopologyQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at"]
        verbose_name_plural = "topologies"

    def __str__(self) -> str:
        return self.name

    # --- access ---------------------------------------------------------------------------

    def access_for(self, user: Any) -> str | None:
        """'owner', 'edit', 'read' or None: what this user may do with the topology."""
        if not user.is_authenticated:
            return None
        if self.owner_id == user.pk:
            return "owner"
        share = self.shares.filter(user=user).first()
        return share.access if share else None

    def can_read(self, user: Any) -> bool:
        return self.access_for(user) is not None

    def can_edit(self, user: Any) -> bool:
        return self.access_for(user) in {"owner", Access.EDIT}

    # --- the document ---------------------------------------------------------------------

    def to_spec(self) -> TopologySpec:
        return topology_spec.load(self.document)

    @classmethod
    @transaction.atomic
    def create_from_document(cls, owner: Any, document: dict[str, Any]) -> Topology:
        """Validate and store a new topology with its first revision."""
        parsed = topology_spec.load(document)
        clean = parsed.to_dict()
        topology = cls.objects.create(
            owner=owner,
            name=parsed.name,
            slug=unique_slug(parsed.name),
            description=parsed.description,
            document=clean,
            version=1,
        )
        topology.revisions.create(number=1, document=clean, author=owner, message="Created")
        return topology

    @transaction.atomic
    def save_document(
        self, document: dict[str, Any], *, base_version: int, author: Any, message: str = ""
    ) -> TopologyRevision:
        """Store a new revision, refusing a save based on a stale version (StaleVersion)."""
        parsed = topology_spec.load(document)
        current = Topology.objects.select_for_update().get(pk=self.pk)
        if current.version != base_version:
            raise StaleVersion(current=current.version, given=base_version)
        clean = parsed.to_dict()
        self.version = current.version + 1
        self.document = clean
        self.name = parsed.name
        self.description = parsed.description
        self.save(update_fields=["version", "document", "name", "description", "updated_at"])
        return self.revisions.create(
            number=self.version, document=clean, author=author, message=message or "Saved"
        )

    def restore(self, number: int, *, base_version: int, author: Any) -> TopologyRevision:
        revision = self.revisions.get(number=number)
        return self.save_document(
            revision.document,
            base_version=base_version,
            author=author,
            message=f"Restored revision {number}",
        )

    @transaction.atomic
    def duplicate(self, owner: Any) -> Topology:
        document = {**self.document, "name": f"{self.name} (copy)"[: topology_spec.MAX_NAME]}
        return Topology.create_from_document(owner, document)


class TopologyRevision(models.Model):
    """One saved state of a topology; never changed after it is written."""

    topology = models.ForeignKey(Topology, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    document = OrderedJSONField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    message = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["topology", "number"], name="unique_revision_number")
        ]

    def __str__(self) -> str:
        return f"{self.topology} r{self.number}"


class Share(models.Model):
    topology = models.ForeignKey(Topology, on_delete=models.CASCADE, related_name="shares")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shared_topologies"
    )
    access = models.CharField(max_length=8, choices=Access, default=Access.READ)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["topology", "user"], name="unique_share_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.topology} → {self.user} ({self.access})"


def unique_slug(name: str) -> str:
    base = slugify(name)[:60] or "topology"
    slug = base
    counter = 2
    while Topology.objects.filter(slug=slug).exists():
        slug = f"{base}-{counter}"
        counter += 1
    return slug


class LoginToken(models.Model):
    """A one-time login link, stored only as a hash so the database never holds a usable token."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"login token for {self.user}"

    @staticmethod
    def hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @classmethod
    def issue(cls, user: Any) -> str:
        token = secrets.token_urlsafe(32)
        lifetime = timedelta(seconds=settings.FLOWYARD_LOGIN_TOKEN_TTL)
        cls.objects.create(
            user=user, token_hash=cls.hash(token), expires_at=timezone.now() + lifetime
        )
        return token

    @classmethod
    def redeem(cls, token: str) -> Any | None:
        """The token's user, once: a used or expired token gives None."""
        with transaction.atomic():
            found: QuerySet[LoginToken] = cls.objects.select_for_update().filter(
                token_hash=cls.hash(token), used_at__isnull=True, expires_at__gt=timezone.now()
            )
            login_token = found.first()
            if login_token is None:
                return None
            login_token.used_at = timezone.now()
            login_token.save(update_fields=["used_at"])
            return login_token.user


class SampleEvent(models.Model):
    """A saved test event for one producer of a topology, offered beside its Send button.

    Kept apart from the topology document on purpose: samples are test data, so saving one must
    not create a revision, change the version others edit against, or travel into exports.
    """

    topology = models.ForeignKey(Topology, on_delete=models.CASCADE, related_name="samples")
    node_id = models.CharField(max_length=64)
    name = models.CharField(max_length=80)
    body = OrderedJSONField()
    attributes = OrderedJSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["topology", "node_id", "name"], name="unique_sample_name_per_producer"
            )
        ]

    def __str__(self) -> str:
        return f"{self.topology} · {self.node_id} · {self.name}"

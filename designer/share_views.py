"""Sharing a topology: its owner grants other users read or edit access, or takes it back."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from designer.models import Access, Share
from designer.views import get_topology


@require_GET
def sharing(request: HttpRequest, pk: int) -> HttpResponse:
    topology = get_topology(request, pk, need="owner")
    context = {
        "topology": topology,
        "shares": topology.shares.select_related("user").order_by("user__username"),
        "accesses": Access.choices,
    }
    return render(request, "designer/sharing.html", context)


@require_POST
def share(request: HttpRequest, pk: int) -> HttpResponse:
    topology = get_topology(request, pk, need="owner")
    username = request.POST.get("username", "").strip()
    access = request.POST.get("access", Access.READ)
    user = get_user_model().objects.filter(username=username).first()
    if access not in Access.values:
        messages.error(request, f"Access must be one of: {', '.join(Access.values)}.")
    elif user is None:
        messages.error(request, f"There is no user named “{username}”.")
    elif user.pk == topology.owner_id:
        messages.error(request, "The owner already has full access.")
    else:
        Share.objects.update_or_create(topology=topology, user=user, defaults={"access": access})
        messages.success(request, f"{username} can now {access} “{topology.name}”.")
    return redirect("designer:sharing", pk=topology.pk)


@require_POST
def unshare(request: HttpRequest, pk: int, user_id: int) -> HttpResponse:
    topology = get_topology(request, pk, need="owner")
    deleted, _ = topology.shares.filter(user_id=user_id).delete()
    if deleted:
        messages.success(request, "Access removed.")
    return redirect("designer:sharing", pk=topology.pk)

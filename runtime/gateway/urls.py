"""Gateway URLs, mounted at ``gw/``: HTTP API stages and GraphQL endpoints per topology."""

from __future__ import annotations

from django.urls import path

from runtime.gateway import views

app_name = "gateway"

urlpatterns = [
    path("<slug:slug>/<str:stage>", views.gateway, name="stage"),
    path("<slug:slug>/<str:stage>/", views.gateway, name="root"),
    path("<slug:slug>/<str:stage>/<path:rest>", views.gateway, name="route"),
]

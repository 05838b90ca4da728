"""Gateway URLs, mounted at ``gw/``: HTTP API stages and GraphQL endpoints per topology."""

from __future__ import annotations

from django.urls import path

from hosting.appsync import views as graphql_views
from hosting.gateway import views

app_name = "gateway"

urlpatterns = [
    # GraphQL first: a stage may not be called graphql.
    path("<slug:slug>/graphql", graphql_views.graphql, name="graphql"),
    path("<slug:slug>/graphql/<str:node_id>", graphql_views.graphql, name="graphql-node"),
    path("<slug:slug>/<str:stage>", views.gateway, name="stage"),
    path("<slug:slug>/<str:stage>/", views.gateway, name="root"),
    path("<slug:slug>/<str:stage>/<path:rest>", views.gateway, name="route"),
]

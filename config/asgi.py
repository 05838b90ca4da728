"""ASGI entry point: HTTP goes to Django, websockets to the runtime's consumers."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_application = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs Django set up first)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from hosting.gateway.asgi import with_gateway  # noqa: E402
from hosting.host import start_hosting  # noqa: E402
from hosting.routing import websocket_urlpatterns  # noqa: E402
from hosting.supervisor import get_supervisor  # noqa: E402

router = ProtocolTypeRouter(
    {
        # /gw/ is served ahead of Django: API clients get no session, cookie or CSRF check.
        "http": with_gateway(django_application),
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The router, plus the ASGI lifespan: servers that speak it (uvicorn, hypercorn) stop the
    running topologies on shutdown. daphne does not, so the supervisor also stops them atexit."""
    if scope["type"] != "lifespan":
        await router(scope, receive, send)
        return
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await asyncio.to_thread(get_supervisor().shutdown)
            await send({"type": "lifespan.shutdown.complete"})
            return


# The server process hosts the runs (the embedded default): the ones recorded as running when
# the last server stopped start again now, with what their stores kept, and the `runs` CLI's
# commands are carried out here.
start_hosting()

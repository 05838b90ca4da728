"""The edge that hosts runs: the supervisor (and, scaled out, runtime workers), the live publisher,
websocket consumers, the API gateway, AppSync and the run commands. It joins the pure core in
``runtime/`` to Django and Channels; the core never imports it."""

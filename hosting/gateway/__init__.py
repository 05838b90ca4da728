"""API Gateway at the edge: real HTTP routes under ``/gw/<topology-slug>/<stage>/``.

The pipeline modules (``routing``, ``throttle``, ``validation``, ``cors``, ``proxy``,
``integrations``, ``accesslog``, ``pipeline``) are plain Python and asyncio with no Django import,
so they are tested playbook-style with a manual clock. ``views`` and ``urls`` adapt Django requests
to the pipeline; ``registry`` is the one seam that finds the running engine for a topology slug.

Gateway routes take no session cookie and no CSRF token and never grant designer access: callers
authenticate with API keys only, and the designer's cookies are stripped before a request reaches
the topology.
"""

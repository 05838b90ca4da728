"""The Flowyard runtime core.

All of it (spec, graph, engine, clock, events, nodes/, patterns, asl/, store/, formats/) is plain
Python and asyncio and imports nothing from Django, Channels, designer/ or hosting/, so it runs
headless in the CLI, benchmarks and tests; tests/test_layout.py proves it for the whole package.
The edge that hosts runs and serves them (supervisor, live publisher, consumers, gateway, AppSync,
run commands) is the ``hosting`` Django app.
"""

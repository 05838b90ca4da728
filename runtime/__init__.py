"""The Flowyard runtime.

The core (spec, graph, engine, clock, nodes/, patterns, asl/, store/) is plain Python and asyncio
and imports nothing from Django, Channels or designer/, so it runs headless in the CLI, benchmarks
and tests. The edge (consumers, routing, live, supervisor, gateway views) connects the core to
Channels and Django.
"""

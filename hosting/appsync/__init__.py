"""AppSync at the edge: a GraphQL endpoint per ``graphql_api`` node of a running topology.

``schema`` builds a graphql-core schema from the node's SDL (with AppSync's scalars and
directives); ``api`` executes queries and mutations (mutations publish into the topology) and
fans mutation results out to subscriptions; ``views`` serves HTTP POST and ``consumers`` the
graphql-transport-ws websocket protocol. Nothing here is evaluated: resolvers only copy data.
"""

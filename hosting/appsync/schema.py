"""The node's SDL as a graphql-core schema, with AppSync's scalars and directives declared."""

from __future__ import annotations

import re
from functools import lru_cache

from graphql import GraphQLError, GraphQLSchema, build_schema

AWS_SCALARS = (
    "AWSDate",
    "AWSTime",
    "AWSDateTime",
    "AWSTimestamp",
    "AWSEmail",
    "AWSJSON",
    "AWSURL",
    "AWSPhone",
    "AWSIPAddress",
)
AWS_DIRECTIVES = {
    "aws_subscribe": "directive @aws_subscribe(mutations: [String]) on FIELD_DEFINITION",
    "aws_api_key": "directive @aws_api_key on FIELD_DEFINITION | OBJECT",
    "aws_iam": "directive @aws_iam on FIELD_DEFINITION | OBJECT",
    "aws_oidc": "directive @aws_oidc on FIELD_DEFINITION | OBJECT",
    "aws_lambda": "directive @aws_lambda on FIELD_DEFINITION | OBJECT",
    "aws_cognito_user_pools": (
        "directive @aws_cognito_user_pools(cognito_groups: [String]) on FIELD_DEFINITION | OBJECT"
    ),
    "aws_auth": "directive @aws_auth(cognito_groups: [String]) on FIELD_DEFINITION",
}
MAX_SDL_BYTES = 256 * 1024


class SchemaProblem(ValueError):
    """The SDL does not build a schema."""


def _prelude(sdl: str) -> str:
    lines = [
        f"scalar {name}" for name in AWS_SCALARS if not re.search(rf"\bscalar\s+{name}\b", sdl)
    ]
    lines += [
        text
        for name, text in AWS_DIRECTIVES.items()
        if not re.search(rf"\bdirective\s+@{name}\b", sdl)
    ]
    return "\n".join(lines) + "\n"


@lru_cache(maxsize=64)
def schema_from_sdl(sdl: str) -> GraphQLSchema:
    """Build (once per distinct SDL) the executable schema; raises SchemaProblem."""
    if len(sdl.encode("utf-8")) > MAX_SDL_BYTES:
        raise SchemaProblem("the schema is larger than 256 KiB")
    try:
        return build_schema(_prelude(sdl) + sdl)
    except (GraphQLError, TypeError) as error:
        raise SchemaProblem(str(error)) from error


def subscribed_mutations(schema: GraphQLSchema) -> dict[str, frozenset[str]]:
    """Subscription field → the mutations named in its @aws_subscribe directive."""
    subscription = schema.subscription_type
    if subscription is None:
        return {}
    found: dict[str, frozenset[str]] = {}
    for name, field in subscription.fields.items():
        mutations: set[str] = set()
        for directive in getattr(field.ast_node, "directives", None) or ():
            if directive.name.value != "aws_subscribe":
                continue
            for argument in directive.arguments:
                if argument.name.value == "mutations":
                    values = getattr(argument.value, "values", ())
                    mutations.update(getattr(value, "value", "") for value in values)
        found[name] = frozenset(mutations)
    return found

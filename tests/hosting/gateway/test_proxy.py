from __future__ import annotations

import base64

import pytest

from hosting.gateway.exchange import GatewayRequest
from hosting.gateway.proxy import (
    MalformedResponse,
    RequestContext,
    event_v1,
    event_v2,
    response_v1,
    response_v2,
)

CONTEXT = RequestContext(
    request_id="r1",
    api_id="abc",
    account_id="123456789012",
    stage="prod",
    resource="/pets/{id}",
    route_key="GET /pets/{id}",
    path_parameters={"id": "7"},
    stage_variables={"env": "test"},
    api_key="",
    now=1_767_225_600.0,
)


def test_a_binary_body_is_base64_encoded_in_the_event() -> None:
    request = GatewayRequest("POST", "/pets/7", "", {"content-type": "image/png"}, b"\x89PNG")
    event = event_v1(request, CONTEXT)
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\x89PNG"
    assert event["stageVariables"] == {"env": "test"}
    assert event["requestContext"]["requestTimeEpoch"] == 1_767_225_600_000


def test_payload_2_moves_cookies_out_of_the_headers() -> None:
    request = GatewayRequest("GET", "/pets/7", "", {"cookie": "a=1; b=2", "x-y": "z"})
    event = event_v2(request, CONTEXT)
    assert event["cookies"] == ["a=1", "b=2"] and "cookie" not in event["headers"]
    assert event["rawPath"] == "/prod/pets/7"


@pytest.mark.parametrize(
    "result",
    [
        "not json",
        ["a list"],
        {"statusCode": 200, "body": {"a": 1}},
        {"statusCode": "abc"},
        {"statusCode": 200, "extra": 1},
        {"statusCode": 200, "headers": {"x": ["list"]}},
        {"statusCode": 200, "headers": {"x": "a\r\nSet-Cookie: s=1"}},
        {"statusCode": 200, "isBase64Encoded": "yes"},
    ],
)
def test_malformed_function_answers_are_refused(result: object) -> None:
    with pytest.raises(MalformedResponse):
        response_v1(result)


def test_a_proxy_answer_keeps_its_status_headers_and_base64_body() -> None:
    response = response_v1(
        {
            "statusCode": 202,
            "headers": {"X-A": "1"},
            "multiValueHeaders": {"X-B": ["1", "2"]},
            "body": base64.b64encode(b"\x00\x01").decode(),
            "isBase64Encoded": True,
        }
    )
    assert response.status == 202 and response.body == b"\x00\x01"
    assert response.headers == {"x-a": "1", "x-b": "1, 2"}


def test_payload_2_answers_may_be_bare_json_or_set_cookies() -> None:
    assert response_v2([1, 2]).body == b"[1,2]"
    shaped = response_v2({"statusCode": 200, "body": "x", "cookies": ["s=1"]})
    assert shaped.headers["set-cookie"] == "s=1"

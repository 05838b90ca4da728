from __future__ import annotations

import pytest

from runtime.nodes.webhook import Webhook
from tests.runtime.nodes import lint, problems


def test_defaults_post_to_an_example_url() -> None:
    assert Webhook.check_config({}) == []
    assert Webhook.defaults()["method"] == "POST"


def test_a_webhook_is_a_target_without_an_out_port() -> None:
    assert Webhook.feeds == frozenset()
    assert Webhook.has_input


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "is required"),
        ("ftp://example.com/x", "must start with http:// or https://"),
        ("example.com/hook", "must start with http:// or https://"),
        ("https:///path", "must name a host"),
        ("https://user:pw@example.com/", "must not carry credentials; use an Authorization header"),
        ("https://example.com/a b", "must not contain spaces"),
    ],
)
def test_urls_must_be_http_or_https_with_a_host(url: str, message: str) -> None:
    assert problems(Webhook, url=url) == {"/url": message}


def test_urls_are_limited_in_length() -> None:
    url = "https://example.com/" + "a" * 2030
    assert problems(Webhook, url=url) == {"/url": "must be at most 2048 characters"}


def test_limits_are_enforced() -> None:
    assert problems(Webhook, timeout=31) == {"/timeout": "must be 1..30 s"}
    assert problems(Webhook, timeout=0) == {"/timeout": "must be 1..30 s"}
    assert problems(Webhook, retries=101) == {"/retries": "must be 0..100"}
    assert problems(Webhook, method="GET") == {"/method": "must be one of 'POST', 'PUT'"}


def test_headers_are_strings_and_cannot_override_transport_headers() -> None:
    assert problems(Webhook, headers={"Authorization": "Bearer x"}) == {}
    assert problems(Webhook, headers={"Host": "evil"}) == {
        "/headers/Host": "is set by Flowyard and cannot be configured"
    }
    assert problems(Webhook, headers={"X-A": "a\r\nb"}) == {
        "/headers/X-A": "must be a string on one line"
    }
    assert problems(Webhook, headers={"bad name": "x"}) == {
        "/headers/bad name": "is not a valid header name"
    }


def test_the_body_template_is_checked() -> None:
    assert lint(Webhook, body_template='{"id": "{{id}}"}') == {}
    assert lint(Webhook, body_template="{{n}}") == {"/body_template": "unknown placeholder {{n}}"}

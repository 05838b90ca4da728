from __future__ import annotations

from hosting.gateway.routing import Router


def routes(*pairs: str) -> list[dict[str, object]]:
    return [
        {"method": p.split()[0], "path": p.split()[1], "integration": {}}
        if p != "$default"
        else {"method": "ANY", "path": "$default", "integration": {}}
        for p in pairs
    ]


def test_a_literal_segment_beats_a_parameter_which_beats_a_greedy_proxy() -> None:
    router = Router(routes("GET /pets/{id}", "GET /pets/mine", "GET /{proxy+}"))
    assert router.match("GET", "/pets/mine").route.path == "/pets/mine"  # type: ignore[union-attr]
    found = router.match("GET", "/pets/42")
    assert found is not None and found.path_parameters == {"id": "42"}
    deep = router.match("GET", "/a/b/c")
    assert deep is not None and deep.path_parameters == {"proxy": "a/b/c"}


def test_an_explicit_method_beats_any() -> None:
    router = Router(routes("ANY /pets", "POST /pets"))
    assert router.match("POST", "/pets").route.method == "POST"  # type: ignore[union-attr]
    assert router.match("DELETE", "/pets").route.method == "ANY"  # type: ignore[union-attr]


def test_rest_apis_do_not_fall_back_to_a_less_specific_resource_for_a_missing_method() -> None:
    router = Router(routes("POST /pets/mine", "GET /pets/{id}"))
    assert router.match("GET", "/pets/mine") is None


def test_http_apis_fall_back_to_the_next_route_then_to_default() -> None:
    router = Router(routes("POST /pets/mine", "GET /pets/{id}", "$default"), api_type="HTTP")
    assert router.match("GET", "/pets/mine").path_parameters == {"id": "mine"}  # type: ignore[union-attr]
    assert router.match("PUT", "/x/y").route.path == "$default"  # type: ignore[union-attr]


def test_a_greedy_proxy_needs_at_least_one_segment_and_the_root_is_its_own_resource() -> None:
    router = Router(routes("GET /{proxy+}"))
    assert router.match("GET", "/") is None
    assert Router(routes("GET /")).match("GET", "/") is not None


def test_path_parameters_are_percent_decoded_and_empty_segments_ignored() -> None:
    router = Router(routes("GET /files/{name}"))
    found = router.match("get", "//files/a%20b")
    assert found is not None and found.path_parameters == {"name": "a b"}

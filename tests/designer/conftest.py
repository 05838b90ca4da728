from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.builders import logged_in


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    """The personas are created with passwords; the default hasher takes ~0.2 s per user."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def alice_client(alice: Any) -> Client:
    return logged_in(alice)


@pytest.fixture
def bob_client(bob: Any) -> Client:
    return logged_in(bob)


@pytest.fixture
def carol_client(carol: Any) -> Client:
    return logged_in(carol)

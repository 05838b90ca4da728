"""Authentication by one-time login link (printed by `make run`, like Jupyter's token URL)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import BaseBackend
from django.contrib.auth.models import AbstractBaseUser

from designer.models import LoginToken


class LoginTokenBackend(BaseBackend):
    def authenticate(self, request: Any, login_token: str | None = None, **kwargs: Any) -> Any:
        if not login_token:
            return None
        user = LoginToken.redeem(login_token)
        if user is None or not user.is_active:
            return None
        return user

    def get_user(self, user_id: int) -> AbstractBaseUser | None:
        from django.contrib.auth import get_user_model

        return get_user_model().objects.filter(pk=user_id, is_active=True).first()

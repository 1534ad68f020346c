"""Small typed helpers that make users through the real API."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import httpx

PASSWORD = "correct horse battery staple"
_counter = itertools.count(1)


@dataclass
class Account:
    user: dict[str, Any]
    password: str
    access_token: str
    refresh_token: str
    session_id: str

    @property
    def headers(self) -> dict[str, str]:
        return auth(self.access_token)

    @property
    def id(self) -> str:
        return str(self.user["id"])


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def unique_name(prefix: str = "player") -> str:
    return f"{prefix}{next(_counter)}"


async def register(
    client: httpx.AsyncClient, username: str | None = None, *, password: str = PASSWORD
) -> dict[str, Any]:
    username = username or unique_name()
    response = await client.post(
        "/api/v1/users/register",
        json={"username": username, "email": f"{username}@example.com", "password": password},
    )
    assert response.status_code == 201, response.text
    user: dict[str, Any] = response.json()
    return user


async def login(
    client: httpx.AsyncClient, login_name: str, password: str = PASSWORD, **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/users/login", json={"login": login_name, "password": password, **extra}
    )
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


async def signed_up(client: httpx.AsyncClient, username: str | None = None) -> Account:
    user = await register(client, username)
    tokens = await login(client, user["username"])
    return Account(
        user=user,
        password=PASSWORD,
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        session_id=tokens["session_id"],
    )

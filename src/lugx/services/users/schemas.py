"""Request and response bodies of the users service."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    field_validator,
)

from lugx.platform.auth import Role
from lugx.services.users.countries import COUNTRY_CODES

Visibility = Literal["public", "friends", "private"]
Username = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=3, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
    ),
]
Password = Annotated[str, StringConstraints(min_length=1, max_length=256)]


class Strict(BaseModel):
    """Unknown fields are refused, so nobody can slip `roles` or `id` into a body."""

    model_config = ConfigDict(extra="forbid")


class RegisterRequest(Strict):
    username: Username
    email: EmailStr = Field(max_length=254)
    password: Password

    @field_validator("username")
    @classmethod
    def _not_all_digits(cls, value: str) -> str:
        # Profiles are found by UUID, account_id or username: an all-digit name would be
        # mistaken for an account_id.
        if value.isdigit():
            raise ValueError("a username needs at least one letter")
        return value


class LoginRequest(Strict):
    login: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=254)]
    password: Password
    device_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=128)] = ""


class RefreshRequest(Strict):
    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105
    expires_in: int
    session_id: uuid.UUID


class UserRead(BaseModel):
    """The account as its owner sees it."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    account_id: int
    username: str
    email: str
    email_verified: bool
    display_name: str
    avatar_url: str | None
    bio: str
    country: str | None
    profile_visibility: Visibility
    roles: list[Role]
    created_at: datetime


class PublicProfile(BaseModel):
    """What anyone may see. A private profile shows only who it is, not what is in it."""

    id: uuid.UUID
    account_id: int
    username: str
    display_name: str
    avatar_url: str | None
    profile_visibility: Visibility
    is_private: bool
    bio: str | None = None
    country: str | None = None
    member_since: datetime | None = None


class ProfileUpdate(Strict):
    display_name: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] | None
    ) = None
    avatar_url: AnyHttpUrl | None = Field(default=None, max_length=2048)
    bio: Annotated[str, StringConstraints(max_length=2000)] | None = None
    country: Annotated[str, StringConstraints(to_upper=True, min_length=2, max_length=2)] | None = (
        None
    )
    profile_visibility: Visibility | None = None

    @field_validator("country")
    @classmethod
    def _known_country(cls, value: str | None) -> str | None:
        if value is not None and value not in COUNTRY_CODES:
            raise ValueError("not an ISO 3166-1 alpha-2 country code")
        return value


class Preferences(BaseModel):
    model_config = ConfigDict(from_attributes=True, extra="forbid")

    language: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[A-Z]{2})?$")] = "en"
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = "USD"
    email_notifications: bool = True
    marketing_emails: bool = False
    show_mature_content: bool = False


class PreferencesUpdate(Strict):
    language: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[A-Z]{2})?$")] | None = None
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] | None = None
    email_notifications: bool | None = None
    marketing_emails: bool | None = None
    show_mature_content: bool | None = None


class PasswordChange(Strict):
    current_password: Password
    new_password: Password


class SessionRead(BaseModel):
    id: uuid.UUID
    device_name: str
    user_agent: str
    ip_address: str
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    current: bool


class EmailVerificationConfirm(Strict):
    token: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class RolesUpdate(Strict):
    roles: list[Role] = Field(min_length=1, max_length=3)

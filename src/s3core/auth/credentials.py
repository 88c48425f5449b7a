"""Who may sign requests: users, their keys, and the store that finds them.

This module owns the ``User`` value and the ``CredentialStore`` protocol that
``verify`` looks access keys up in, with ``StaticCredentials``, a store over a fixed
set of users. It must not read files or environment variables (a loader elsewhere
builds the users) and must never reveal a secret key: it is left out of every repr.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

import attrs

__all__ = ["CredentialStore", "StaticCredentials", "User"]


@attrs.frozen(kw_only=True)
class User:
    """One identity that can sign requests.

    Attributes:
        access_key: the access key id, sent in the credential scope.
        secret_key: the secret access key; never shown in a repr.
        id: the canonical user id (owner id in listings and ACLs).
        display_name: the owner display name.
    """

    access_key: str
    secret_key: str = attrs.field(repr=False)
    id: str
    display_name: str


class CredentialStore(Protocol):
    """Anything that maps an access key id to its ``User``."""

    def get(self, access_key: str, /) -> User | None:
        """The user owning ``access_key``, or ``None`` if the key is unknown."""
        ...


class StaticCredentials:
    """A ``CredentialStore`` over a fixed set of users.

    Raises:
        ValueError: two users share an access key.
    """

    __slots__ = ("_by_key",)

    def __init__(self, users: Iterable[User]) -> None:
        by_key: dict[str, User] = {}
        for user in users:
            if user.access_key in by_key:
                raise ValueError(f"duplicate access key {user.access_key!r}")
            by_key[user.access_key] = user
        self._by_key = by_key

    def get(self, access_key: str, /) -> User | None:
        """The user owning ``access_key``, or ``None`` if the key is unknown."""
        return self._by_key.get(access_key)

    def __len__(self) -> int:
        return len(self._by_key)

    def __repr__(self) -> str:
        # Users' reprs leave their secrets out, so listing them is safe.
        return f"StaticCredentials({list(self._by_key.values())!r})"

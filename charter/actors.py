"""Who is acting, as the rules see them.

A person is known to the charter only by a verified GitHub login. Chat users who have not
linked one act as anonymous: they may read, never decide.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    login: str | None  # verified GitHub login, None when unknown (unlinked chat user)
    surface: str = "github"  # github | slack | discord | console | web | system
    surface_id: str = ""  # the platform's user id, as a string (Discord ids exceed 2^53)
    display: str = ""
    channel: str = ""  # the chat channel a command came from ("" for DMs, GitHub, console)

    @property
    def linked(self) -> bool:
        return self.login is not None

    @property
    def name(self) -> str:
        return self.login or self.display or self.surface_id or "anonymous"


SYSTEM = Actor(login=None, surface="system", display="charterbot")

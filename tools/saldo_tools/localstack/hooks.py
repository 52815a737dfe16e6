"""Small, reversible patches of moto internals (moto runs no Lambda code and fires no schedules itself)."""

from __future__ import annotations

from typing import Any

_MISSING = object()


class Patcher:
    """Sets attributes on classes and puts the originals back on `restore()`."""

    def __init__(self) -> None:
        self._saved: list[tuple[Any, str, Any]] = []

    def patch(self, owner: Any, name: str, replacement: Any) -> Any:
        """Replace `owner.name`; returns the original (to call from the replacement)."""
        current = getattr(owner, name)
        saved = owner.__dict__.get(name, _MISSING) if isinstance(owner, type) else current
        self._saved.append((owner, name, saved))
        setattr(owner, name, replacement)
        return current

    def restore(self) -> None:
        while self._saved:
            owner, name, original = self._saved.pop()
            if original is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, original)

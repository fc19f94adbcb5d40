"""The usage windows of a `poll` result, from the legacy fields and `limits[]`.

The rules are ARCHITECTURE.md's ("poll success", `windows`). Keys become entity unique ids, so
a change here that renames a window cuts its history: tests/test_window_keys.py pins them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, NamedTuple

from .protocol import WindowKind, slug
from .values import number, text, timestamp

_KIND_ORDER = {
    WindowKind.SESSION: 0,
    WindowKind.WEEKLY_ALL: 1,
    WindowKind.WEEKLY_SCOPED: 2,
    WindowKind.OTHER: 3,
}


class _Identity(NamedTuple):
    """What a window is, independent of where in the payload it was found."""

    key: str
    kind: WindowKind
    model: str | None
    surface: str | None = None


_SESSION = _Identity("session", WindowKind.SESSION, None)
_WEEKLY = _Identity("weekly", WindowKind.WEEKLY_ALL, None)
_COWORK = _Identity("weekly_cowork", WindowKind.WEEKLY_SCOPED, None)

# Legacy fields with a fixed meaning; `None` marks a field that is not a window of its own.
_LEGACY_FIELDS: dict[str, _Identity | None] = {
    "five_hour": _SESSION,
    "seven_day": _WEEKLY,
    "seven_day_oauth_apps": _Identity("weekly_oauth_apps", WindowKind.WEEKLY_SCOPED, None),
    "seven_day_cowork": _COWORK,
    # Another name seen for the cowork window; _legacy_windows drops it when both are present.
    "seven_day_routines": _COWORK,
    # Shares the main weekly pool, so a sensor for it would only repeat `weekly`.
    "seven_day_omelette": None,
}
_SCOPED_PREFIX = "seven_day_"
# `limits[]` kinds that are not windows of kind `other`: the known windows, and extra usage.
_KNOWN_LIMIT_KINDS = frozenset({"session", "weekly_all", "weekly_scoped", "spend"})


class _Window(NamedTuple):
    identity: _Identity
    utilization: float | None
    resets_at: str | None


def usage_windows(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Merge the legacy fields and `limits[]` into one list, in the contract's order."""
    merged: dict[str, _Window] = {}
    # Legacy first: its float is more precise than `limits[]`'s rounded percent, which only
    # fills what the legacy field left null.
    for window in (*_legacy_windows(payload), *_limit_windows(payload.get("limits"))):
        known = merged.get(window.identity.key)
        if known is None:
            merged[window.identity.key] = window
        elif known.identity.kind is window.identity.kind:
            merged[window.identity.key] = _fill(known, window)
        # A key taken by a window of another kind (a new kind named "weekly") stays with the
        # first: renaming either would cut an entity's history.
    ordered = sorted(merged.values(), key=lambda w: (_KIND_ORDER[w.identity.kind], w.identity.key))
    return [_window_result(window) for window in ordered]


def _legacy_windows(payload: dict[str, Any]) -> list[_Window]:
    fields = {name: value for name, value in payload.items() if isinstance(value, dict)}
    if "seven_day_cowork" in fields:
        fields.pop("seven_day_routines", None)
    windows = []
    for name, value in fields.items():
        identity = _legacy_identity(name)
        if identity is not None:
            windows.append(_window(identity, value.get("utilization"), value.get("resets_at")))
    return windows


def _legacy_identity(name: str) -> _Identity | None:
    if name in _LEGACY_FIELDS:
        return _LEGACY_FIELDS[name]
    # Fields that are not `seven_day_<name>` are code names of unreleased features.
    if not name.startswith(_SCOPED_PREFIX):
        return None
    model = name.removeprefix(_SCOPED_PREFIX).replace("_", " ")
    return _scoped_identity(model[:1].upper() + model[1:], None)


def _limit_windows(limits: object) -> list[_Window]:
    if not isinstance(limits, list):
        return []
    windows = []
    for entry in limits:
        # An inactive entry describes a limit that does not apply to this plan right now.
        if not isinstance(entry, dict) or entry.get("is_active") is False:
            continue
        identity = _limit_identity(entry)
        if identity is not None:
            windows.append(_window(identity, entry.get("percent"), entry.get("resets_at")))
    return windows


def _limit_identity(entry: dict[str, Any]) -> _Identity | None:
    kind = entry.get("kind")
    if kind == "session":
        return _SESSION
    if kind == "weekly_all":
        return _WEEKLY
    model, surface = _scope(entry.get("scope"))
    if kind == "weekly_scoped":
        return _scoped_identity(model, surface)
    # `spend` is extra usage, not a window. A kind not seen yet is a limit too once it has a
    # figure (CLAUDE_DATA.md, `limits`).
    if not isinstance(kind, str) or kind in _KNOWN_LIMIT_KINDS:
        return None
    return None if number(entry.get("percent")) is None else _other_identity(kind, model, surface)


def _other_identity(kind: str, model: str | None, surface: str | None) -> _Identity | None:
    """Key a window of a new kind by the kind, plus its model or surface when it is scoped."""
    kind_slug = slug(kind)
    if not kind_slug:
        return None
    scope_slug = slug(model or surface or "")
    key = f"{kind_slug}_{scope_slug}" if scope_slug else kind_slug
    return _Identity(key, WindowKind.OTHER, model, surface)


def _scope(scope: object) -> tuple[str | None, str | None]:
    """Return the (model, surface) names that a `limits[]` entry's scope gives."""
    if not isinstance(scope, dict):
        return None, None
    model = scope.get("model")
    model_name = text(model.get("display_name")) if isinstance(model, dict) else None
    # The surface's exact shape is not public: a name, or an object with a name or an id.
    surface = scope.get("surface")
    if isinstance(surface, dict):
        surface_name = text(surface.get("display_name")) or text(surface.get("id"))
    else:
        surface_name = text(surface)
    return (
        None if model_name is None else model_name.strip(),
        None if surface_name is None else surface_name.strip(),
    )


def _scoped_identity(model: str | None, surface: str | None) -> _Identity | None:
    """Key a scoped weekly window by its model ("Opus 4.5": `weekly_opus_4_5`), else surface.

    A name with nothing left after slugging has no usable key and is dropped.
    """
    if model is not None:
        model = model.strip()
        key = slug(model)
        return _Identity(f"weekly_{key}", WindowKind.WEEKLY_SCOPED, model, surface) if key else None
    if surface is not None and (key := slug(surface)):
        return _Identity(f"weekly_{key}", WindowKind.WEEKLY_SCOPED, None, surface)
    return None


def _window(identity: _Identity, utilization: object, resets_at: object) -> _Window:
    return _Window(identity, number(utilization), timestamp(resets_at))


def _fill(known: _Window, other: _Window) -> _Window:
    identity = known.identity
    if identity.surface is None and other.identity.surface is not None:
        identity = identity._replace(surface=other.identity.surface)
    return known._replace(
        identity=identity,
        utilization=other.utilization if known.utilization is None else known.utilization,
        resets_at=other.resets_at if known.resets_at is None else known.resets_at,
    )


def _window_result(window: _Window) -> dict[str, Any]:
    return {
        "key": window.identity.key,
        "kind": window.identity.kind.value,
        "model": window.identity.model,
        "surface": window.identity.surface,
        "utilization": window.utilization,
        "remaining": _remaining(window.utilization),
        "resets_at": window.resets_at,
    }


def _remaining(utilization: float | None) -> float | None:
    if utilization is None:
        return None
    # Subtract in decimal so 100 - 57.99 reads 42.01, not 42.010000000000005, in HA's history.
    return max(0.0, float(Decimal(100) - Decimal(repr(utilization))))

"""`field_or`: a page object's field, computed once and on its own, so an error costs that field only."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

log = logging.getLogger(__name__)

T = TypeVar("T")


def read_or(
    page: object, name: str, read: Callable[[], T], empty: T | Callable[[], T], by: str | None = None
) -> T:
    """What `read()` gives, or, if it raises, the empty value: the error is logged and noted on the page.

    The one place an extraction error is caught: for a field (see field_or), and for one strategy's reading
    of a field (`by` names the strategy; see ArticlePage._reading), so the next strategy can be tried.
    """
    try:
        return read()
    except Exception as exc:  # Any error at all: the point is that it stays in this one field.
        log.warning(
            "%s: %s could not be read%s: %s: %s",
            getattr(page, "url", type(page).__name__),
            name,
            f" by {by}" if by else "",
            type(exc).__name__,
            exc,
        )
        page.__dict__.setdefault("_field_errors", {})[f"{name} by {by}" if by else name] = type(exc).__name__
        return empty() if callable(empty) else empty


class field_or(Generic[T]):  # Lower case: a decorator, used like functools.cached_property.
    """Like functools.cached_property, but a field that raises is logged and read as its empty value.

    `@field_or(None)`, `@field_or(False)`, or a factory for a fresh empty value: `@field_or(list)`.
    Every field of a page object is one, so a page no parser foresaw still gives every other field.
    """

    def __init__(self, empty: T | Callable[[], T]):
        self._empty = empty
        self._method: Callable[[Any], T] | None = None
        self._name = ""

    def __call__(self, method: Callable[[Any], T]) -> field_or[T]:
        self._method = method
        self.__doc__ = method.__doc__
        self._name = method.__name__
        return self

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> field_or[T]: ...
    @overload
    def __get__(self, instance: object, owner: type | None = None) -> T: ...
    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        value = read_or(instance, self._name, lambda: self._method(instance), self._empty)
        # Cached like cached_property: in the instance's __dict__, which Python looks at before this
        # (non-data) descriptor from then on.
        instance.__dict__[self._name] = value
        return value


def field_errors(page: object) -> dict[str, str]:
    """The fields of a page object that raised while read, and the type of error each raised."""
    return dict(getattr(page, "_field_errors", {}))

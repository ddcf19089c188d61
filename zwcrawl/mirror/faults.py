"""Fault rules: how the mirror misbehaves on chosen paths, the way live sites do."""

from __future__ import annotations

import codecs
import json
import threading
from pathlib import Path
from urllib.parse import urlsplit

from zwcrawl.mirror.files import MirrorError
from zwcrawl.site import EDITIONS

# Each option and the check its value must pass; a misspelt option is an error, not a silent no-op.
_OPTIONS = {
    "status": lambda v: isinstance(v, int) and 100 <= v <= 599,
    "retry_after": lambda v: isinstance(v, (int, str)),
    "times": lambda v: isinstance(v, int) and v >= 0,
    "delay": lambda v: isinstance(v, (int, float)) and v >= 0,
    "gzip": lambda v: isinstance(v, bool),
    "reset": lambda v: v in (True, False, "headers"),
    "truncate": lambda v: isinstance(v, int) and v >= 0,
    "redirect": lambda v: isinstance(v, str) and v != "",
    "encoding": lambda v: isinstance(v, str) and _known_codec(v),
    "charset_header": lambda v: isinstance(v, bool),
    "content_length": lambda v: isinstance(v, bool),
    "next_forever": lambda v: isinstance(v, bool),
    "soft404": lambda v: isinstance(v, bool),
    "fill_ports": lambda v: isinstance(v, bool),
}


def _known_codec(name: str) -> bool:
    try:
        codecs.lookup(name)
    except LookupError:
        return False
    return True


class Faults:
    """Rules keyed by edition, then by path: "/a/path" (trailing slash or not), "/a/prefix/*" or "*"."""

    def __init__(self, config: dict | None = None):
        self._rules: dict[str, list[tuple[str, dict]]] = {}
        for edition, rules in (config or {}).items():
            if edition == "extends":
                continue
            if edition not in EDITIONS or not isinstance(rules, dict):
                raise MirrorError(f"faults: {edition!r} is not an edition with rules ({', '.join(EDITIONS)})")
            for key, rule in rules.items():
                _check(edition, key, rule)
            # The broadest rules first, so that a path's own rule overrides an edition-wide one.
            self._rules[edition] = sorted(rules.items(), key=lambda item: _specificity(item[0]))
        self._counts: dict[tuple[str, str, str], int] = {}
        self._lock = threading.Lock()

    @classmethod
    def load(cls, source: Path | str | dict | None) -> Faults:
        """Rules from a dict, a faults.json file, or none."""
        if source is None or isinstance(source, dict):
            return cls(source)
        try:
            return cls(json.loads(Path(source).read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            raise MirrorError(f"{source}: not a readable faults file: {exc}") from None

    def rule_for(self, edition: str, raw_path: str) -> dict:
        """The options in force for one request, counting it against every rule that has `times`."""
        sent_path = urlsplit(raw_path).path
        path = _unslashed(sent_path)
        merged: dict = {}
        with self._lock:
            for key, rule in self._rules.get(edition, []):
                if not _matches(key, path):
                    continue
                if "times" in rule:
                    # Counted per path, so "*" with times=1 fails the first request to every path once.
                    count_key = (edition, key, path)
                    seen = self._counts.get(count_key, 0)
                    self._counts[count_key] = seen + 1
                    if seen >= rule["times"]:
                        continue
                merged.update(rule)
        merged.pop("times", None)
        target = urlsplit(merged.get("redirect", ""))
        if "redirect" in merged and not target.netloc and target.path == sent_path:
            # A redirect to another spelling ("/x" -> "/x/") matches its own target: serve that one normally.
            del merged["redirect"]
            merged.pop("status", None)
        return merged


def _check(edition: str, key: str, rule: object) -> None:
    where = f"faults: {edition} {key!r}"
    if not (key == "*" or key.startswith("/")):
        raise MirrorError(f"{where}: a key is a path starting with '/', a prefix ending in '*', or '*'")
    if not isinstance(rule, dict):
        raise MirrorError(f"{where}: expected an object of options")
    for option, value in rule.items():
        check = _OPTIONS.get(option)
        if check is None:
            raise MirrorError(f"{where}: unknown option {option!r} (known: {', '.join(_OPTIONS)})")
        if not check(value):
            raise MirrorError(f"{where}: bad value for {option!r}: {value!r}")


def _specificity(key: str) -> tuple[int, int]:
    if key == "*":
        return (0, 0)
    if key.endswith("*"):
        return (1, len(key))
    return (2, 0)


def _matches(key: str, path: str) -> bool:
    if key.endswith("*"):
        return path.startswith(key[:-1])
    return path == _unslashed(key)


def _unslashed(path: str) -> str:
    return path.rstrip("/") or "/"

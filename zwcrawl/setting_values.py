"""Check `-s NAME=VALUE` values against the type of the setting's default, before Scrapy reads them."""

from __future__ import annotations

from scrapy.settings import default_settings

from zwcrawl import settings as project_settings

_BOOLS = {"0", "1", "true", "false"}
# Settings Scrapy reads as seconds (getfloat) although their default is a whole number.
_SECONDS = {"DOWNLOAD_DELAY", "DOWNLOAD_TIMEOUT", "DNS_TIMEOUT", "CLOSESPIDER_TIMEOUT"}


def check_setting_values(values: dict[str, str]) -> None:
    """Raise ValueError with a one-line reason for the first value its setting's type cannot take."""
    for name, value in values.items():
        default = getattr(project_settings, name, getattr(default_settings, name, None))
        text = value.strip()
        if isinstance(default, bool):
            if text.lower() not in _BOOLS:
                raise ValueError(f"-s {name}={value!r}: expected True or False (or 1 or 0)")
        elif isinstance(default, int) and name not in _SECONDS:
            try:
                int(text)
            except ValueError:
                raise ValueError(f"-s {name}={value!r}: expected a whole number") from None
        elif isinstance(default, int | float):
            try:
                float(text)
            except ValueError:
                raise ValueError(f"-s {name}={value!r}: expected a number") from None

"""Text normalisation: whitespace (NBSP included), invisible marks, Arabic-Indic digits, site names."""

from __future__ import annotations

import re

# Every Unicode space a page may print (NBSP, thin, ideographic ...) becomes a plain space.
_SPACES = dict.fromkeys(
    map(
        ord,
        "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
        "\u2028\u2029\u202f\u205f\u3000\t\n\r\f\v",
    ),
    " ",
)
# Zero-width and bidi control marks: invisible on the page, noise in the archive.
_INVISIBLE = dict.fromkeys(
    map(ord, "\u200b\u200e\u200f\ufeff\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
)
_TABLE = {**_SPACES, **_INVISIBLE}
_RUNS = re.compile(r" {2,}")

# Arabic-Indic (٠-٩) and Eastern Arabic-Indic (۰-۹) digits, read as Western digits.
_DIGITS = {**{0x0660 + i: str(i) for i in range(10)}, **{0x06F0 + i: str(i) for i in range(10)}}

_SITE_NAME = r"(?:zaman\s*al[\s-]*wasl|zamanalwsl(?:\.net)?|زمان\s+الوصل)"
_SITE_ONLY = re.compile(rf"^{_SITE_NAME}$", re.I)
_SITE_AFFIX = re.compile(rf"^{_SITE_NAME}\s*[-–—|:»]{{1,2}}\s*|\s*[-–—|:«]{{1,2}}\s*{_SITE_NAME}$", re.I)


def clean_text(text: str | None) -> str:
    """Collapse all whitespace (NBSP included) to single spaces, drop invisible marks, trim."""
    if not text:
        return ""
    return _RUNS.sub(" ", text.translate(_TABLE)).strip()


def western_digits(text: str) -> str:
    """Replace Arabic-Indic digits with Western ones."""
    return text.translate(_DIGITS)


def is_site_name(text: str) -> bool:
    """Whether a text is just the site's own name in one of its spellings."""
    return bool(_SITE_ONLY.match(clean_text(text)))


def strip_site_name(title: str) -> str:
    """A page <title> without the site name before or after it ("X - Zaman Al Wasl"); "" if only that."""
    title = clean_text(title)
    if is_site_name(title):
        return ""
    return _SITE_AFFIX.sub("", title, count=1).strip()

"""Bytes off the wire to text: BOM, HTTP charset, declared charset, UTF-8, windows-1256; never raises."""

from __future__ import annotations

import codecs
import re
import unicodedata

_END = re.compile(r"</html\s*>|</body\s*>", re.I)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # Before UTF-16 LE: its BOM starts with the same two bytes.
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# <meta charset="x">, <meta http-equiv="Content-Type" content="text/html; charset=x">, <?xml encoding="x"?>
_DECLARED = re.compile(
    rb"<meta[^>]*?charset\s*=\s*[\"']?\s*([a-z0-9_.:-]+)|<\?xml[^>]*?encoding\s*=\s*[\"']([a-z0-9_.:-]+)",
    re.I,
)
# Labels browsers read differently from Python's codec names (WHATWG Encoding Standard).
_ALIASES = {
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "iso-8859-6": "iso8859-6",
    "arabic": "iso8859-6",
    "x-user-defined": "cp1252",
    "unicode": "utf-16-le",
    "utf8": "utf-8",
}
# Bytes that are Arabic letters in windows-1256: legacy Arabic pages are mostly these above 0x7F.
_CP1256_ARABIC = frozenset(
    b for b in range(0x80, 0x100) if "ARABIC" in unicodedata.name(bytes([b]).decode("cp1256", "replace"), "")
)


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    label = _ALIASES.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def _try(data: bytes, codec: str | None) -> str | None:
    if not codec:
        return None
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _single_byte(codec: str) -> bool:
    return codec.startswith(("cp", "iso8859", "windows", "mac", "koi8", "latin", "tis"))


def declared_charset(data: bytes) -> str | None:
    """The charset a page declares in its first bytes (<meta charset>, http-equiv, <?xml encoding?>)."""
    m = _DECLARED.search(data[:8192])
    if not m:
        return None
    return (m.group(1) or m.group(2)).decode("ascii", "ignore")


def _looks_arabic_1256(data: bytes) -> bool:
    high = [b for b in data[:65536] if b >= 0x80]
    return bool(high) and sum(b in _CP1256_ARABIC for b in high) >= 0.7 * len(high)


def _looks_cp1252(data: bytes) -> bool:
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        return False
    high = [b for b in data[:65536] if b >= 0x80]
    # Quotes, dashes and accented Latin letters; control-like bytes and Arabic-heavy text rule it out.
    return bool(high) and sum(b in range(0x91, 0x98) or b >= 0xC0 for b in high) >= 0.8 * len(high)


def _mostly_utf8(data: bytes) -> str | None:
    """UTF-8 with a few broken bytes (a page cut inside a character, one stray byte), or None."""
    text = data.decode("utf-8", "replace")
    high = sum(b >= 0x80 for b in data)
    return text if text.count("\ufffd") <= max(3, high // 50) else None


def _overwhelmingly_utf8(data: bytes) -> str | None:
    """UTF-8 with a stray byte or two among many multi-byte characters, or None.

    Text in a single-byte charset almost never forms valid multi-byte UTF-8 sequences (windows-1256 Arabic
    letters are lead bytes followed by more letters, not by continuation bytes), so many valid characters
    and few broken bytes mean UTF-8, whatever a label says.
    """
    text = data.decode("utf-8", "replace")
    broken = text.count("\ufffd")
    valid = len(text) - len(text.encode("ascii", "ignore")) - broken  # the characters at or above \x80
    return text if valid >= 20 * max(1, broken) else None


def decode_html(data: bytes, http_charset: str | None = None) -> str:
    """Decode a page: BOM, HTTP charset, declared charset, UTF-8, windows-1256 (or 1252), else lossy UTF-8."""
    if isinstance(data, str):
        return data
    data = bytes(data or b"")
    for bom, codec in _BOMS:
        if data.startswith(bom):
            text = _try(data[len(bom) :], codec)
            if text is not None:
                return text
            break
    utf8 = _try(data, "utf-8")
    for label in (http_charset, declared_charset(data)):
        codec = _codec(label)
        # A single-byte charset decodes any bytes "cleanly"; non-ASCII bytes that are valid UTF-8 are UTF-8
        # (a legacy windows-1256 label left on a page re-encoded as UTF-8 is the usual way this happens),
        # and so is a page that is overwhelmingly valid UTF-8 but for a stray byte.
        if codec and codec != "utf-8" and _single_byte(codec) and not data.isascii():
            text = utf8 if utf8 is not None else _overwhelmingly_utf8(data)
            if text is not None:
                return text
        # UTF-16/32 labels on bytes without a BOM are nearly always wrong (pages say "unicode" loosely).
        if codec and codec.startswith(("utf-16", "utf-32")) and b"\x00" not in data[:64]:
            continue
        text = utf8 if codec == "utf-8" else _try(data, codec)  # UTF-8 is decoded already, or fails again
        if text is not None:
            return text
    text = utf8 if utf8 is not None else _mostly_utf8(data)
    if text is not None:
        return text
    if _looks_arabic_1256(data):
        text = _try(data, "cp1256")
        if text is not None:
            return text
    # An English page with typographic quotes in windows-1252 (0x91-0x97) and no working declaration.
    if _looks_cp1252(data):
        return data.decode("cp1252")
    return data.decode("utf-8", "replace")


def ends_whole(html: str) -> bool:
    """Whether a page reaches its closing </body> or </html> tag: a page cut short in transit does not."""
    # The tag is nearly always in the last few hundred characters: a search there first, the same answer.
    return bool(_END.search(html, max(0, len(html) - 1024)) or _END.search(html, max(0, len(html) - 65536)))

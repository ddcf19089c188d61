"""Who wrote, translated and supplied an article: read from its lead and closing lines, English and Arabic."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NamedTuple

from zwcrawl.extract.text import clean_text, is_site_name

_DASH = r"(?:-{1,2}|[–—−‒]|:(?!\d))"

# Credit keywords, longest first so "Additional reporting by" is not read as "reporting by".
_AUTHOR_WORDS = (
    "additional reporting by",
    "reporting by",
    "reported by",
    "report by",
    "writing by",
    "written by",
    "words by",
    "story by",
    "compiled by",
    "by",
    "بقلم",
    "كتبت",
    "كتبه",
    "كتبته",
    "كتب",
    "إعداد",
    "اعداد",
)
_TRANSLATOR_WORDS = (
    r"translated and (?:edited|adapted) by",
    "translation and editing by",
    r"translated from [a-z]+ by",
    "translation by",
    "translated by",
    "translation",
    "translator",
    "english version by",
    "ترجمة وتحرير",
    "ترجمة وإعداد",
    "ترجمة",
    "ترجمه",
    "ترجمها",
    "ترجمتها",
    "المترجم",
    "ترجمة عن",
)
_IGNORED_WORDS = (
    "editing by",
    "edited by",
    "photos by",
    "photo by",
    "photography by",
    "video by",
    "graphics by",
    "تحرير",
    "تدقيق",
    "تصوير",
)
_CREDIT = re.compile(
    r"^\s*(?:(?P<author>{})|(?P<translator>{})|(?P<ignored>{}))(?P<colon>\s*:\s*|\s+)(?P<names>\S.*)$".format(
        "|".join(_AUTHOR_WORDS), "|".join(_TRANSLATOR_WORDS), "|".join(_IGNORED_WORDS)
    ),
    re.I,
)
# Credit lines hold parts: "By A; Translation by B", "By A, translated by B", "Reporting by A | Editing by B".
_CREDIT_PARTS = re.compile(
    r"\s*[;؛|]\s*|\s*[,،]\s*(?=(?:translation|translated|translator|editing|edited|reporting|reported|writing"
    r"|written|additional reporting|photos?|ترجمة|تحرير|تدقيق)\b)",
    re.I,
)
# Name lists: "A and B", "A, B and C", "A & B", Arabic "أ، ب".
_NAME_SPLIT = re.compile(r"\s*(?:,|،|\band\b|&|\s+و\s+)\s*", re.I)
_NAME_PARTICLES = frozenset(
    [
        "al",
        "el",
        "bin",
        "ibn",
        "bint",
        "abu",
        "abou",
        "de",
        "da",
        "di",
        "du",
        "der",
        "van",
        "von",
        "la",
        "le",
        "ul",
        "y",
    ]
)
# The site's leads: "(OUTLET)-", "By A and B (OUTLET)-", "BEIRUT (AP) —", "DAMASCUS, Syria (AFP) -".
_PAREN_LEAD = re.compile(rf"^(?P<pre>[^()]{{0,150}}?)\s*\(\s*(?P<paren>[^()]{{1,150}}?)\s*\)\s*{_DASH}")
_PLAIN_LEAD = re.compile(rf"^(?P<pre>[^()\-–—:.]{{2,60}}?)\s*{_DASH}\s*(?P<rest>.*)$", re.S)
_WHOLE_PAREN = re.compile(r"^\(\s*(?P<inner>[^()]+?)\s*\)\s*\.?$")
_TRAILING_PAREN = re.compile(r"\s*\(\s*(?P<inner>[^()]+?)\s*\)\s*\.?$")
_WITH_AGENCIES = re.compile(
    r"(?:\(\s*(?:with\s+(?:the\s+)?)?agencies\s*\)|\(\s*(?:مع\s+)?(?:وكالات|الوكالات)\s*\)"
    r"|[-–—]\s*(?:وكالات|with agencies))\s*\.?\s*$",
    re.I,
)
_EXCLUSIVE = frozenset(["خاص", "exclusive", "حصري", "حصريا"])

# Outlets named without brackets: the site itself, wire agencies, the papers it syndicates. Only used
# where a bare "X - ..." must be told apart from an ordinary sentence; bracketed outlets need no list.
_WIRES = frozenset(
    [
        *[
            "ap",
            "afp",
            "reuters",
            "dpa",
            "anadolu",
            "aa",
            "upi",
            "xinhua",
            "efe",
            "ansa",
            "sana",
            "kuna",
            "qna",
            "wam",
            "spa",
            "sputnik",
            "tass",
            "irna",
            "ani",
        ],
        *(
            "associated press",
            "agence france-presse",
            "agence france presse",
            "anadolu agency",
            "ria novosti",
        ),
        *[
            "رويترز",
            "الفرنسية",
            "الالمانية",
            "الاناضول",
            "سانا",
            "سبوتنيك",
            "شينخوا",
            "قنا",
            "كونا",
            "وام",
            "واس",
            "ارنا",
            "تاس",
            "وكالات",
        ],
        *("ا ف ب", "اف ب", "فرانس برس", "اسوشيتد برس", "ا ب", "د ب ا"),
    ]
)
_OUTLETS = frozenset(
    {
        "al jazeera",
        "al-jazeera",
        "al arabiya",
        "al-arabiya",
        "bbc",
        "cnn",
        "news week",
        "newsweek",
        "agencies",
        "الجزيرة",
        "العربية",
        "بي بي سي",
        "سي ان ان",
        "الشرق الاوسط",
        "عنب بلدي",
        "وكالات",
    }
)
# Places that open Arabic wire copy ("بيروت - رويترز"), so a place is not taken for an author's name.
_PLACES = frozenset(
    [
        "دمشق",
        "حلب",
        "ادلب",
        "درعا",
        "حمص",
        "حماة",
        "حماه",
        "اللاذقية",
        "طرطوس",
        "الرقة",
        "الحسكة",
        "القامشلي",
        "السويداء",
        "القنيطرة",
        "منبج",
        "عفرين",
        "جرابلس",
        "الباب",
        "تدمر",
        "البوكمال",
        "الميادين",
        "بيروت",
        "عمان",
        "انقرة",
        "اسطنبول",
        "استنبول",
        "غازي",
        "عنتاب",
        "عنتاب",
        "القاهرة",
        "بغداد",
        "الرياض",
        "الدوحة",
        "دبي",
        "ابوظبي",
        "موسكو",
        "واشنطن",
        "نيويورك",
        "باريس",
        "لندن",
        "برلين",
        "جنيف",
        "بروكسل",
        "طهران",
        "القدس",
        "عواصم",
        "استانا",
        "سوتشي",
        "فيينا",
        "اربيل",
        "الموصل",
    ]
) | frozenset(["دير الزور", "ريف دمشق", "ريف حلب", "ريف ادلب", "غازي عنتاب", "ابو ظبي", "الامم المتحدة"])
_SOURCE_LABEL = re.compile(r"^\s*(?:source|المصدر)\s*:\s*", re.I)
_FOLD = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ى": "ي", "ـ": None, ".": " "})
_MONTH_DAY = re.compile(
    r"^(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2}$|^\d{1,2}\s+[a-z]+$", re.I
)


@dataclass
class Attribution:
    """The attribution fields of an article."""

    source: str | None = None
    authors: list[str] = field(default_factory=list)
    translators: list[str] = field(default_factory=list)
    dateline: str | None = None
    with_agencies: bool = False
    # Outlets named in credit lines ("By A, Associated Press"): the source only if the lead names none.
    credited_outlets: list[str] = field(default_factory=list, repr=False)
    # Where the source came from ("text", "byline", "declared"), and the fields declared names filled.
    source_from: str | None = field(default=None, repr=False)
    declared: set[str] = field(default_factory=set, repr=False)

    def take(self, credits: Credits) -> None:
        """Add a credit line's names; an outlet in it is the source unless one is known."""
        self.authors += [name for name in credits.authors if name not in self.authors]
        self.translators += [name for name in credits.translators if name not in self.translators]
        self.credited_outlets += credits.outlets


class Credits(NamedTuple):
    """The names one credit line gives."""

    authors: list[str]
    translators: list[str]
    outlets: list[str]


def _fold(text: str) -> str:
    return re.sub(r"\s+", " ", text.translate(_FOLD)).strip().lower()


def _is_outlet(text: str) -> bool:
    folded = _fold(text)
    return (
        is_site_name(text)
        or folded in _WIRES
        or folded in _OUTLETS
        or folded.startswith(("وكالة ", "صحيفة "))
    )


def _is_wire(text: str) -> bool:
    return _fold(text) in _WIRES


def _is_place(text: str) -> bool:
    return _fold(text) in _PLACES


def _is_arabic(text: str) -> bool:
    return any("\u0600" <= ch <= "\u06ff" for ch in text[:40])


def _name_ok(name: str) -> bool:
    """Whether a piece of a credit line looks like a person's (or a desk's) name, not a sentence."""
    words = name.split()
    if not 1 <= len(words) <= 6 or len(name) > 60 or any(ch.isdigit() for ch in name):
        return False
    if re.search(r"[!?؟\"“”«»]|[.:;]$", name):
        return False
    if _is_arabic(name):
        return True
    first = words[0]
    if not first[0].isupper():
        return False
    return all(w[0].isupper() or w.lower().split("-")[0] in _NAME_PARTICLES for w in words)


def _split_outlet(name: str) -> list[str]:
    """ "BASSEM MROUE Associated Press" -> the name, and the outlet (two words or more) that ends it."""
    words = name.split()
    for size in (3, 2):
        if len(words) > size and _is_outlet(" ".join(words[-size:])):
            return [" ".join(words[:-size]), " ".join(words[-size:])]
    return [name]


def _names(text: str) -> list[str] | None:
    """The names in "A, B and C"; None unless every piece looks like a name."""
    names = [clean_text(n).strip(" .،,") for n in _NAME_SPLIT.split(clean_text(text).strip(" .،,"))]
    names = [piece for n in names if n for piece in _split_outlet(n)]
    return names if names and all(_name_ok(n) or _is_outlet(n) for n in names) else None


def _credits(text: str) -> Credits | None:
    """The names in a credit text ("By A; Translation by B"), or None if it is not one."""
    credits = Credits([], [], [])
    for part in _CREDIT_PARTS.split(clean_text(text)):
        if not part:
            continue
        m = _CREDIT.match(part)
        if not m:
            return None
        keyword = (m.group("author") or m.group("translator") or m.group("ignored")).lower()
        # Arabic credit words are also ordinary verbs and nouns ("كتب الرئيس ..."): only "بقلم" may omit ":".
        if _is_arabic(keyword) and keyword != "بقلم" and ":" not in m.group("colon"):
            return None
        names = _names(m.group("names"))
        if names is None:
            return None
        if m.group("author"):
            # "By Hadi Sulaiman, Zaman Al Wasl": the outlet is named among the people.
            credits.outlets.extend(name for name in names if _is_outlet(name))
            credits.authors.extend(name for name in names if not _is_outlet(name))
        elif m.group("translator"):
            credits.translators.extend(names)  # "Translated by Zaman al-Wasl" credits the desk.
    return credits


def _parenthesised_credits(text: str) -> Credits | None:
    """What brackets in a lead hold: an outlet, "By A; Translation by B", or both."""
    credits = Credits([], [], [])
    for part in re.split(r"\s*[;؛]\s*", text):
        found = _credits(part)
        if found:
            credits.authors.extend(found.authors)
            credits.translators.extend(found.translators)
            credits.outlets.extend(found.outlets)
        elif part and not credits.outlets:
            credits.outlets.append(part)
        elif part:
            return None
    return credits


def _credit_line(paragraph: str, attribution: Attribution) -> bool:
    """Read a paragraph made only of credits (author line, translation note, "NAME - زمان الوصل")."""
    whole = _WHOLE_PAREN.match(paragraph)
    if whole:
        inner = whole.group("inner")
        found = _credits(inner)
        if found:
            attribution.take(found)
            return True
        return False
    found = _credits(paragraph)
    if found:
        attribution.take(found)
        return True
    # "By NAME (OUTLET)" standing alone, without the dash that opens a lead.
    m = re.match(r"^(?P<pre>[^()]+?)\s*\(\s*(?P<paren>[^()]+?)\s*\)\s*\.?$", paragraph)
    if m and (found := _credits(m.group("pre"))):
        attribution.take(found)
        attribution.source = attribution.source or m.group("paren")
        return True
    # Arabic "NAME - زمان الوصل", "زمان الوصل - خاص", "بيروت - رويترز".
    parts = re.split(rf"\s*{_DASH}\s*", paragraph)
    if len(parts) == 3 and _fold(parts[-1]) in _EXCLUSIVE:  # "NAME - زمان الوصل - خاص"
        parts = parts[:2] if _is_outlet(parts[1]) else parts
    if len(parts) == 2 and all(parts) and len(paragraph) <= 80:
        left, right = parts
        if _fold(left) in _EXCLUSIVE:  # "خاص - زمان الوصل"
            left, right = right, left
        if _is_outlet(left) and _fold(right) in _EXCLUSIVE:
            attribution.source = attribution.source or left
            return True
        if _is_outlet(left) and _is_place(right):
            attribution.source = attribution.source or left
            attribution.dateline = attribution.dateline or right
            return True
        if _is_outlet(right):
            if found := _credits(left):
                attribution.take(found)
            elif _is_place(left):
                attribution.dateline = attribution.dateline or left
            elif names := _names(left):
                attribution.take(Credits(names, [], []))
            else:
                return False
            attribution.source = attribution.source or right
            return True
    return False


def _dateline(pre: str, outlet: str) -> str | None:
    """The place before a wire lead ("BEIRUT", "DAMASCUS, Syria"), its date ("April 19") dropped."""
    pieces = [p.strip() for p in re.split(r"[,،]", pre)]
    pieces = [p for p in pieces if p and not _MONTH_DAY.match(p)]
    if not pieces or len(" ".join(pieces)) > 60 or any(ch.isdigit() for p in pieces for ch in p):
        return None
    place = ", ".join(pieces)
    letters = [ch for ch in pieces[0] if ch.isalpha()]
    if _is_arabic(place):
        return place if (_is_place(pieces[0]) or _is_wire(outlet)) and len(place.split()) <= 4 else None
    if letters and all(ch.isupper() for ch in letters):
        return place
    if (
        _is_wire(outlet)
        and all(w[0].isupper() for w in place.replace(",", " ").split())
        and len(place.split()) <= 4
    ):
        return place
    return None


def _lead(paragraph: str, attribution: Attribution) -> None:
    """Read the lead attribution that opens the article's first paragraph of text."""
    m = _PAREN_LEAD.match(paragraph)
    if m:
        pre, paren = clean_text(m.group("pre")), clean_text(m.group("paren"))
        inside = _parenthesised_credits(paren)
        if inside is None:
            return
        outlet = inside.outlets[0] if inside.outlets else None
        if pre:
            found = _credits(pre)
            if found:
                attribution.take(found)
            else:
                dateline = _dateline(pre, outlet or "")
                if dateline is None:
                    return  # A sentence that happens to hold brackets, not an attribution.
                attribution.dateline = attribution.dateline or dateline
        attribution.take(inside)
        if outlet:
            attribution.source = attribution.source or outlet
        return
    m = _PLAIN_LEAD.match(paragraph)
    if m:
        pre = clean_text(m.group("pre"))
        if _is_outlet(pre):  # "زمان الوصل - text", "Zaman Al Wasl- text"
            attribution.source = attribution.source or pre
        elif not _is_arabic(pre) and (dateline := _dateline(pre, "")):  # "BEIRUT — text"
            attribution.dateline = attribution.dateline or dateline
        elif _is_place(pre):  # "دمشق - text"
            attribution.dateline = attribution.dateline or pre


def _closing(paragraphs: list[str], attribution: Attribution) -> None:
    """Read the credits and "(With Agencies)" that close the text (from the lead on)."""
    rest = list(paragraphs[-4:])
    # Whole credit paragraphs at the end: "(Translation by NAME)", "(Reporting by A; Editing by B)".
    while len(rest) > 1:
        whole = _WHOLE_PAREN.match(rest[-1])
        found = _credits(whole.group("inner") if whole else rest[-1])
        if not found:
            break
        attribution.take(found)
        rest.pop()
    last = rest[-1] if rest else ""
    # Credits in brackets ending the last paragraph: "... said. (Translation by NAME)".
    while m := _TRAILING_PAREN.search(last):
        found = _credits(m.group("inner"))
        if not found:
            break
        attribution.take(found)
        last = last[: m.start()]
    if _WITH_AGENCIES.search(last):
        attribution.with_agencies = True


def read_attribution(paragraphs: list[str], byline: str | None = None) -> Attribution:
    """Source, authors, translators, dateline and with_agencies of an article from its paragraphs."""
    attribution = Attribution()
    index = 0
    while index < min(3, len(paragraphs)) and _credit_line(paragraphs[index], attribution):
        index += 1
    if index < len(paragraphs):
        _lead(paragraphs[index], attribution)
        _closing(paragraphs[index:], attribution)
    if not attribution.source and attribution.credited_outlets:
        attribution.source = attribution.credited_outlets[0]
    if attribution.source:
        attribution.source = clean_text(attribution.source)
        attribution.source_from = "text"
    elif byline:
        attribution.source = _SOURCE_LABEL.sub("", byline) or None
        attribution.source_from = "byline" if attribution.source else None
    return attribution


def is_credit_line(text: str) -> bool:
    """Whether a short printed line only credits people ("By A and B", "بقلم: A", "Translated by C")."""
    return len(text) <= 100 and _credits(text) is not None


def with_declared(attribution: Attribution, authors: list[str], translators: list[str]) -> Attribution:
    """The printed attribution, with the names a page declares (JSON-LD author ...) where the text has none.

    The printed lines win: the fields are defined by the site's printed conventions, which tell an author
    from a translator and a desk from a person, while a declared author list is whatever the CMS holds (often
    the desk or the editor who posted it). Declared names are read with the same conventions ("By A and B",
    "Translated by C", an outlet among them), fill a role only when the text credits nobody in it, and never
    add a name the text gives in the other role. A declared outlet is the source only when neither the lead
    nor the byline names one.
    """
    credits = Credits([], [], [])
    for text, role in [*((a, "author") for a in authors), *((t, "translator") for t in translators)]:
        found = _credits(text) or _credits(f"{'By' if role == 'author' else 'Translated by'} {text}")
        if found is None:
            found = Credits([text], [], []) if role == "author" else Credits([], [text], [])
        credits.authors.extend(found.authors if role == "author" else [])
        credits.translators.extend(
            found.translators if role == "author" else found.authors + found.translators
        )
        credits.outlets.extend(found.outlets)
    printed = {*attribution.authors, *attribution.translators}
    result = Attribution(**{**vars(attribution), "declared": set(attribution.declared)})
    for role, names in (("authors", credits.authors), ("translators", credits.translators)):
        names = [name for name in dict.fromkeys(names) if name not in printed and not _is_outlet(name)]
        if names and not getattr(attribution, role):
            setattr(result, role, names)
            result.declared.add(role)
    outlets = [name for name in credits.outlets if not is_site_name(name)] or credits.outlets
    if not result.source and outlets:
        result.source, result.source_from = outlets[0], "declared"
        result.declared.add("source")
    return result

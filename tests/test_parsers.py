"""The small parsers one at a time: attribution, dates, text normalisation, decoding, paragraphs."""

from __future__ import annotations

from datetime import datetime

import pytest
from parsel import Selector

from zwcrawl.extract.article import _comment_date
from zwcrawl.extract.attribution import read_attribution
from zwcrawl.extract.dates import parse_day, parse_feed_date, parse_published, text_before_date
from zwcrawl.extract.decode import decode_html, ends_whole
from zwcrawl.extract.markup import looks_binary, paragraphs
from zwcrawl.extract.text import clean_text, strip_site_name, western_digits

# -- attribution -------------------------------------------------------------------------------------------

ZW, AR_ZW = "Zaman Al Wasl", "زمان الوصل"

# (paragraphs, byline) -> (source, authors, translators, dateline, with_agencies)
ATTRIBUTIONS = {
    "lead": (["(Zaman Al Wasl)- Regime forces began bombarding.", "More."], ZW, (ZW, [], [], None, False)),
    "lead-space-before-dash": (["(Zaman Al Wasl) - Text."], ZW, (ZW, [], [], None, False)),
    "lead-en-dash": (["(Zaman Al Wasl)– Text."], ZW, (ZW, [], [], None, False)),
    "lead-em-dash": (["(Zaman Al Wasl)— Text."], ZW, (ZW, [], [], None, False)),
    "lead-double-hyphen": (["(Zaman Al Wasl)-- Text."], ZW, (ZW, [], [], None, False)),
    "by-name": (
        ["By Hadi Sulaiman (Zaman Al Wasl)- Families living."],
        ZW,
        (ZW, ["Hadi Sulaiman"], [], None, False),
    ),
    "writing-by": (
        ["Writing by Rima Khalil (Zaman Al Wasl)- A decision."],
        ZW,
        (ZW, ["Rima Khalil"], [], None, False),
    ),
    "reporting-by": (
        ["Reporting by Rami Saleh (Zaman Al Wasl)- Text."],
        ZW,
        (ZW, ["Rami Saleh"], [], None, False),
    ),
    "written-by": (
        ["Written by Omar al-Idlibi (Zaman Al Wasl)- Text."],
        ZW,
        (ZW, ["Omar al-Idlibi"], [], None, False),
    ),
    "two-authors": (
        ["By Lena Morgan and Paul Keane ( Foreign Policy )- Officials met."],
        "Foreign Policy",
        ("Foreign Policy", ["Lena Morgan", "Paul Keane"], [], None, False),
    ),
    "three-authors": (
        ["By Anne Barnard, Hwaida Saad and Ben Hubbard (New York Times)- Text."],
        None,
        ("New York Times", ["Anne Barnard", "Hwaida Saad", "Ben Hubbard"], [], None, False),
    ),
    "ampersand": (
        ["By A. Smith & J. Doe (The Guardian)- Text."],
        None,
        ("The Guardian", ["A. Smith", "J. Doe"], [], None, False),
    ),
    "syndicated": (
        ["(News Week)- In the towns along the border."],
        "News Week",
        ("News Week", [], [], None, False),
    ),
    "spaces-inside": (["( Al-Jazeera )- Text."], "Al-Jazeera", ("Al-Jazeera", [], [], None, False)),
    "editor-in-chief": (
        ["By Editor-In-Chief", "(Zaman Al Wasl)- For seven years."],
        ZW,
        (ZW, ["Editor-In-Chief"], [], None, False),
    ),
    "translation-closing": (
        ["Writing by Rima Khalil (Zaman Al Wasl)- Text.", "More.", "(Translation by Omar Haddad)"],
        ZW,
        (ZW, ["Rima Khalil"], ["Omar Haddad"], None, False),
    ),
    "translated-by-inline": (
        ["(Zaman Al Wasl)- Text.", "Last paragraph ends here. (Translated by Sami Farah)"],
        ZW,
        (ZW, [], ["Sami Farah"], None, False),
    ),
    "by-and-translation-closing": (
        ["(Zaman Al Wasl)- Text.", "More.", "(By Mohammad Al-Hasan; Translation by Sami Farah)"],
        ZW,
        (ZW, ["Mohammad Al-Hasan"], ["Sami Farah"], None, False),
    ),
    "by-and-translation-opening": (
        ["(By Mohammad Al-Hasan; Translation by Sami Farah)", "(Zaman Al Wasl)- Text."],
        ZW,
        (ZW, ["Mohammad Al-Hasan"], ["Sami Farah"], None, False),
    ),
    "translation-inside-lead": (
        ["By Hadi Sulaiman (Zaman Al Wasl; Translation by Omar Haddad)- Text."],
        ZW,
        (ZW, ["Hadi Sulaiman"], ["Omar Haddad"], None, False),
    ),
    "translated-from-arabic": (
        ["(Zaman Al Wasl)- Text.", "Translated from Arabic by Leila Darwish"],
        ZW,
        (ZW, [], ["Leila Darwish"], None, False),
    ),
    "wire-ap": (["BEIRUT (AP) — The U.N. envoy said."], "AP", ("AP", [], [], "BEIRUT", False)),
    "wire-afp-country": (["DAMASCUS, Syria (AFP) - Text."], "AFP", ("AFP", [], [], "DAMASCUS, Syria", False)),
    "wire-reuters-country": (
        ["DAMASCUS, Syria (Reuters) - Text."],
        None,
        ("Reuters", [], [], "DAMASCUS, Syria", False),
    ),
    "wire-reuters-date": (
        ["BEIRUT, April 19 (Reuters) - Text.", "(Reporting by Tom Perry; Editing by Alison Williams)"],
        None,
        ("Reuters", ["Tom Perry"], [], "BEIRUT", False),
    ),
    "wire-two-words": (["UNITED NATIONS (AP) — Text."], None, ("AP", [], [], "UNITED NATIONS", False)),
    "wire-title-case": (["Beirut (AFP) - Text."], None, ("AFP", [], [], "Beirut", False)),
    "wire-no-outlet": (
        ["ISTANBUL — Turkish officials said."],
        "Reuters",
        ("Reuters", [], [], "ISTANBUL", False),
    ),
    "unattributed-agency": (
        ["Turkey will not open its border, an official said."],
        "AFP",
        ("AFP", [], [], None, False),
    ),
    "sentence-with-brackets": (
        ["Turkey (a NATO member) - which hosts refugees - said."],
        "AFP",
        ("AFP", [], [], None, False),
    ),
    "by-is-a-sentence": (["By the end of 2017, the regime held Aleppo."], ZW, (ZW, [], [], None, False)),
    "with-agencies-own-line": (["(Zaman Al Wasl)- Text.", "(With Agencies)"], ZW, (ZW, [], [], None, True)),
    "with-agencies-end": (
        ["(Zaman Al Wasl)- Text.", "Regime soldiers. (With Agencies)"],
        ZW,
        (ZW, [], [], None, True),
    ),
    "with-agencies-lower": (["Text.", "Regime soldiers. (with agencies)."], ZW, (ZW, [], [], None, True)),
    "agencies-mid-text": (
        ["(Zaman Al Wasl)- (With Agencies) said.", "Not at the end."],
        ZW,
        (ZW, [], [], None, False),
    ),
    "no-byline": (["Plain text."], None, (None, [], [], None, False)),
    "byline-with-label": (["Plain text."], "Source: Reuters", ("Reuters", [], [], None, False)),
    "by-name-comma-outlet": (
        ["By Hadi Sulaiman, Zaman Al Wasl", "Text."],
        None,
        (ZW, ["Hadi Sulaiman"], [], None, False),
    ),
    "by-comma-translation": (
        ["(Zaman Al Wasl)- Text.", "(By Mohammad Al-Hasan, Translation by Sami Farah)"],
        ZW,
        (ZW, ["Mohammad Al-Hasan"], ["Sami Farah"], None, False),
    ),
    "translated-by-the-desk": (
        ["(Zaman Al Wasl)- Text.", "(Translation by Zaman Al Wasl)"],
        ZW,
        (ZW, [], [ZW], None, False),
    ),
    "wire-byline-upper-case": (
        ["By SARAH EL DEEB and BASSEM MROUE Associated Press", "BEIRUT (AP) — Text."],
        "AP",
        ("AP", ["SARAH EL DEEB", "BASSEM MROUE"], [], "BEIRUT", False),
    ),
    "particles-in-names": (
        ["By Omar al-Haj and Tom van der Berg (Zaman Al Wasl)- Text."],
        ZW,
        (ZW, ["Omar al-Haj", "Tom van der Berg"], [], None, False),
    ),
    # Arabic
    "ar-exclusive-reversed": (["خاص - زمان الوصل", "نص."], AR_ZW, (AR_ZW, [], [], None, False)),
    "ar-exclusive": (["زمان الوصل - خاص", "صعّدت قوات النظام."], AR_ZW, (AR_ZW, [], [], None, False)),
    "ar-inline-lead": (["زمان الوصل - حذرت الأمم المتحدة، الجمعة."], AR_ZW, (AR_ZW, [], [], None, False)),
    "ar-author-line": (
        ["فارس الرفاعي - زمان الوصل", "كشفت مصادر."],
        AR_ZW,
        (AR_ZW, ["فارس الرفاعي"], [], None, False),
    ),
    "translated-and-edited": (
        ["(Zaman Al Wasl)- Text.", "Translated and edited by Ali Omar"],
        None,
        (ZW, [], ["Ali Omar"], None, False),
    ),
    "ar-author-line-exclusive": (
        ["عبد الله الغضوي - زمان الوصل - خاص", "نص."],
        None,
        (AR_ZW, ["عبد الله الغضوي"], [], None, False),
    ),
    "ar-place-outlet-exclusive": (["درعا - زمان الوصل - خاص", "نص."], None, (AR_ZW, [], [], "درعا", False)),
    "ar-author-en-dash": (
        ["محمد الحسن – زمان الوصل", "نص."],
        AR_ZW,
        (AR_ZW, ["محمد الحسن"], [], None, False),
    ),
    "ar-biqalam": (["بقلم: سلمى العلي", "ليس الصمت."], AR_ZW, (AR_ZW, ["سلمى العلي"], [], None, False)),
    "ar-biqalam-no-colon": (["بقلم سلمى العلي", "نص."], AR_ZW, (AR_ZW, ["سلمى العلي"], [], None, False)),
    "ar-biqalam-spaced": (
        ["بقلم : د. خالد الأحمد", "نص."],
        AR_ZW,
        (AR_ZW, ["د. خالد الأحمد"], [], None, False),
    ),
    "ar-kataba": (["كتب: أحمد خالد", "نص."], AR_ZW, (AR_ZW, ["أحمد خالد"], [], None, False)),
    "ar-kataba-verb": (["كتب الرئيس رسالة", "نص."], AR_ZW, (AR_ZW, [], [], None, False)),
    "ar-translation": (
        ["زمان الوصل - نص.", "ترجمة: ريم حداد"],
        AR_ZW,
        (AR_ZW, [], ["ريم حداد"], None, False),
    ),
    "ar-agencies-own-line": (["زمان الوصل - خاص", "نص.", "(وكالات)"], AR_ZW, (AR_ZW, [], [], None, True)),
    "ar-agencies-end": (["زمان الوصل - نص.", "داخل المخيم. (وكالات)"], AR_ZW, (AR_ZW, [], [], None, True)),
    "ar-wire-dateline": (["بيروت (رويترز) - قال مسؤولون."], None, ("رويترز", [], [], "بيروت", False)),
    "ar-place-outlet": (["دمشق - زمان الوصل", "نص."], AR_ZW, (AR_ZW, [], [], "دمشق", False)),
    "ar-capitals-agencies": (["عواصم - وكالات", "نص."], None, ("وكالات", [], [], "عواصم", False)),
    "ar-no-attribution": (["قال ناشطون إن القصف استمر."], AR_ZW, (AR_ZW, [], [], None, False)),
}


@pytest.mark.parametrize(("paras", "byline", "want"), list(ATTRIBUTIONS.values()), ids=list(ATTRIBUTIONS))
def test_attribution(paras, byline, want):
    got = read_attribution(paras, byline)
    assert (got.source, got.authors, got.translators, got.dateline, got.with_agencies) == want


# -- dates -------------------------------------------------------------------------------------------------

DATES = {
    # Damascus was UTC+2 in winter and UTC+3 in summer until October 2022, then UTC+3 all year.
    "winter": ("2017-12-28 15:30", "2017-12-28T13:30:00Z"),
    "summer": ("2018-04-19 20:14", "2018-04-19T17:14:00Z"),
    "day-before-dst-2016": ("2016-03-24 11:20", "2016-03-24T09:20:00Z"),
    "dst-started-2016": ("2016-03-25 11:20", "2016-03-25T08:20:00Z"),
    "last-dst-day-2017": ("2017-10-26 14:30", "2017-10-26T11:30:00Z"),
    "dst-ended-2017": ("2017-10-28 14:30", "2017-10-28T12:30:00Z"),
    "winter-2021": ("2021-12-01 12:00", "2021-12-01T10:00:00Z"),
    "permanent-utc3-winter-2022": ("2022-12-01 12:00", "2022-12-01T09:00:00Z"),
    "permanent-utc3-2025": ("2025-01-10 12:00", "2025-01-10T09:00:00Z"),
    "legacy-2013": ("الأربعاء 18 كانون الأول 2013 16:20", "2013-12-18T14:20:00Z"),
    "with-seconds": ("2018-04-19 20:14:30", "2018-04-19T17:14:30Z"),
    "iso-t": ("2018-04-19T20:14", "2018-04-19T17:14:00Z"),
    "iso-offset": ("2018-04-19T20:14:00+03:00", "2018-04-19T17:14:00Z"),
    "iso-z": ("2018-04-19T17:14:00Z", "2018-04-19T17:14:00Z"),
    # One zone parser for every spelling; after GMT or UTC the hours may have one digit (issue 14).
    "gmt-one-digit": ("2018-04-19 20:14 GMT+3", "2018-04-19T17:14:00Z"),
    "gmt-minus-one-digit": ("2018-04-19 20:14 GMT-4", "2018-04-20T00:14:00Z"),
    "utc-colon": ("2018-04-19 20:14 UTC+03:00", "2018-04-19T17:14:00Z"),
    "utc-half-hour": ("2018-04-19 20:14 UTC+4:30", "2018-04-19T15:44:00Z"),
    "offset-no-colon": ("2018-04-19 20:14 +0300", "2018-04-19T17:14:00Z"),
    "gmt-alone": ("2018-04-19 20:14 GMT", "2018-04-19T20:14:00Z"),
    "bare-minus-is-no-zone": ("2018-04-19 20:14 -5 killed", "2018-04-19T17:14:00Z"),
    "dd-mm-yyyy": ("19/04/2018 20:14", "2018-04-19T17:14:00Z"),
    "dd-mm-yyyy-dashes": ("19-04-2018 20:14", "2018-04-19T17:14:00Z"),
    "yyyy-slashes": ("2018/04/19 20:14", "2018-04-19T17:14:00Z"),
    "date-only": ("19/04/2018", "2018-04-18T21:00:00Z"),
    "english-long": ("Thursday, 19 April 2018 20:14", "2018-04-19T17:14:00Z"),
    "english-us": ("April 19, 2018 8:14 PM", "2018-04-19T17:14:00Z"),
    "english-am": ("Apr 19, 2018 8:14 a.m.", "2018-04-19T05:14:00Z"),
    "english-noon": ("19 April 2018 12:05 pm", "2018-04-19T09:05:00Z"),
    "english-midnight": ("19 April 2018 12:05 am", "2018-04-18T21:05:00Z"),
    "levantine": ("الخميس 19 نيسان 2018 21:30", "2018-04-19T18:30:00Z"),
    "standard-arabic": ("الخميس 19 أبريل 2018 21:30", "2018-04-19T18:30:00Z"),
    "standard-arabic-hamza-less": ("19 ابريل 2018 21:30", "2018-04-19T18:30:00Z"),
    "both-month-names": ("الخميس 19 نيسان/أبريل 2018 - 21:30", "2018-04-19T18:30:00Z"),
    "both-month-names-brackets": ("19 نيسان (أبريل) 2018", "2018-04-18T21:00:00Z"),
    "arabic-indic-digits": ("الخميس ١٩ نيسان ٢٠١٨ ٢١:٣٠", "2018-04-19T18:30:00Z"),
    "persian-digits": ("۱۹ نيسان ۲۰۱۸ ۲۱:۳۰", "2018-04-19T18:30:00Z"),
    "arabic-indic-iso": ("٢٠١٨-٠٤-١٩ ٢٠:١٤", "2018-04-19T17:14:00Z"),
    "arabic-pm": ("19 نيسان 2018 09:30 مساءً", "2018-04-19T18:30:00Z"),
    "arabic-am": ("19 نيسان 2018 09:30 صباحاً", "2018-04-19T06:30:00Z"),
    "arabic-comma": ("الخميس، 19 نيسان، 2018", "2018-04-18T21:00:00Z"),
}
# Every month, both Levantine and standard names, on the 15th at noon (winter UTC+2, summer UTC+3 in 2015).
MONTHS = [
    ("كانون الثاني", "يناير"), ("شباط", "فبراير"), ("آذار", "مارس"), ("نيسان", "أبريل"), ("أيار", "مايو"),
    ("حزيران", "يونيو"), ("تموز", "يوليو"), ("آب", "أغسطس"), ("أيلول", "سبتمبر"), ("تشرين الأول", "أكتوبر"),
    ("تشرين الثاني", "نوفمبر"), ("كانون الأول", "ديسمبر"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "want"), list(DATES.values()), ids=list(DATES))
def test_published(text, want):
    assert parse_published(text) == want


@pytest.mark.parametrize("month", range(1, 13))
def test_every_arabic_month_name(month):
    levantine, standard = MONTHS[month - 1]
    for name in (levantine, standard):
        assert parse_day(f"الأحد 15 {name} 2015 12:00") == f"2015-{month:02d}-15"
    english = datetime(2015, month, 1).strftime("%B")
    assert parse_day(f"15 {english} 2015") == f"2015-{month:02d}-15"
    assert parse_day(f"{english[:3]} 15, 2015") == f"2015-{month:02d}-15"


@pytest.mark.parametrize(
    "text",
    [
        "", None, "nonsense", "31/02/2018", "منذ 3 ساعات", "2018", "Zaman Al Wasl",
        # .NET's empty and largest dates: no moment the site printed, and beyond what UTC can hold (issue 14).
        "1/1/0001 12:00:00 AM", "0001-01-01T00:00:00", "31/12/9999 23:59", "9999-12-31T23:59:59-05:00",
        "2018-04-19 20:14 GMT+99",  # a zone no place has
    ],
)  # fmt: skip
def test_no_date(text):
    assert parse_published(text) is None
    assert parse_day(text) is None
    assert parse_feed_date(text) is None


def test_feed_dates_beyond_utc():
    assert parse_feed_date("Mon, 31 Dec 9999 23:59:59 -0500") is None
    assert parse_feed_date("Fri, 20 Apr 2018 10:00:00 +9900") is None


@pytest.mark.parametrize(
    ("line", "opens"),
    [
        ("أبو علي الخميس 19 كانون الأول 2013 18:05", True),
        ("20/12/2013 09:40", True),
        ("Samir 2018-04-19 9:30 p.m.", True),
        ("Abu Khalil, Thursday 19 April 2018 20:14 GMT+3", True),
        # A comment's text that mentions a date is text (issue 14).
        ("الله يحمي أهل حلب منذ 15/12/2013 18:00.", False),
        ("I was there on 19/04/2018", False),
        ("They shelled the camp at 10:30 on 19/04/2018 and again at noon", False),
    ],
)
def test_a_comment_opens_with_a_name_and_a_stamp(line, opens):
    assert (_comment_date(line) is not None) is opens


def test_listing_day_and_feed_dates():
    assert parse_day("20/04/2018") == "2018-04-20"
    assert parse_day("٢٠/٠٤/٢٠١٨") == "2018-04-20"
    assert parse_feed_date("Fri, 20 Apr 2018 07:00:00 GMT") == "2018-04-20T07:00:00Z"
    assert parse_feed_date("Fri, 20 Apr 2018 10:00:00 +0300") == "2018-04-20T07:00:00Z"
    assert parse_feed_date("2018-04-20T10:00:00+03:00") == "2018-04-20T07:00:00Z"
    assert parse_feed_date("junk") is None
    assert parse_feed_date(None) is None


@pytest.mark.parametrize(
    ("line", "want"),
    [
        ("Samir 2018-04-19 20:14", "Samir"),
        ("أبو علي الخميس 19 نيسان 2018 22:10", "أبو علي"),
        ("Samir - Thursday, April 19, 2018 8:14 PM", "Samir"),
        ("Abu Omar on 19/04/2018", "Abu Omar"),
        ("Marwan 19 Mar 2018", "Marwan"),
        ("ليلى | ٢٠١٨-٠٤-٢١ ١٢:٠٠", "ليلى"),
        ("2018-04-19 20:14", ""),
    ],
)
def test_text_before_date(line, want):
    assert text_before_date(line) == want


# -- text --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("a\u00a0\u00a0b", "a b"),
        ("  a \n\t b  ", "a b"),
        ("soldiers.\u00a0(With Agencies)", "soldiers. (With Agencies)"),
        ("a\u200bb\u200f c\ufeff", "ab c"),
        ("\u2002thin\u2009space\u202f", "thin space"),
        ("", ""),
        (None, ""),
    ],
)
def test_clean_text(raw, want):
    assert clean_text(raw) == want


def test_western_digits():
    assert western_digits("٠١٢٣٤٥٦٧٨٩ ۰۱۲۳۴۵۶۷۸۹ 0123") == "0123456789 0123456789 0123"


@pytest.mark.parametrize(
    ("title", "want"),
    [
        ("Regime forces advance - Zaman Al Wasl", "Regime forces advance"),
        ("Zaman Al Wasl - Activists document attacks", "Activists document attacks"),
        ("رأي - حين يصبح الصمت شراكة - زمان الوصل", "رأي - حين يصبح الصمت شراكة"),
        ("زمان الوصل - اشتباكات عنيفة", "اشتباكات عنيفة"),
        ("Zaman Al Wasl", ""),
        ("زمان الوصل", ""),
        ("Opinion- The cost | Zaman al-Wasl", "Opinion- The cost"),
    ],
)
def test_strip_site_name(title, want):
    assert strip_site_name(title) == want


# -- paragraphs --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "want"),
    [
        ("<p>One</p><p>&nbsp;</p><p>Two <b>bold</b> end</p>", ["One", "Two bold end"]),
        ("First<br>\n<br>\nSecond<br>same line", ["First", "Second same line"]),
        ("<p>A</p><blockquote class='twitter-tweet'><p>tweet</p></blockquote><p>B</p>", ["A", "B"]),
        ("<p>A</p><script>var x = 1;</script><p>B</p>", ["A", "B"]),
        ("<p>A<!-- note -->B</p>", ["AB"]),
        ("<figure><img src='x.jpg'><figcaption>Caption</figcaption></figure><p>Text</p>", ["Text"]),
        ("<div>One</div><div><span>Two</span></div>", ["One", "Two"]),
        ("<p>Quote:</p><blockquote>Words of a witness.</blockquote>", ["Quote:", "Words of a witness."]),
        # An embedded post that lost its class is still known by its link to one post; a quote is not.
        (
            "<p>A</p><blockquote><p>tweet</p><a href='https://twitter.com/u/status/1'>date</a></blockquote>",
            ["A"],
        ),
        ("<blockquote><p>post</p><a href='//www.instagram.com/p/Bx1/'>x</a></blockquote><p>B</p>", ["B"]),
        (
            "<blockquote>A witness said so, <a href='https://twitter.com/unhcr'>UNHCR</a></blockquote>",
            ["A witness said so, UNHCR"],
        ),
        ("<p>Text</p><div class='share'><a href='#'>Share</a></div>", ["Text"]),
        ("<p>x<br><br></p><p>y</p>", ["x", "y"]),
        # A thousand inline tags never closed nest a thousand deep (issue 14): read without recursion.
        ("<p>" + "<font>line<br>" * 1000 + "</p><p>after</p>", [" ".join(["line"] * 1000), "after"]),
        ("<div>" * 2000 + "deep" + "</div>" * 2000 + "<p>after</p>", ["deep", "after"]),
    ],
)
def test_paragraphs(html, want):
    root = Selector(text=f"<html><body><div id='t'>{html}</div></body></html>").root
    assert paragraphs(root.get_element_by_id("t")) == want


@pytest.mark.parametrize(
    ("text", "binary"),
    [
        ("<html><head><script>var s = '\x00';</script></head><body>text</body></html>", False),  # issue 14
        ("\x00" * 100, True),
        ("<p>text</p>" + "\x00\x01\x02" * 40, True),
        ("   ", True),
    ],
)
def test_looks_binary(text, binary):
    assert looks_binary(text) is binary


# -- decoding ----------------------------------------------------------------------------------------------

ARABIC = "اشتباكات عنيفة في ريف حلب الشمالي"


def _page(charset: str) -> str:
    head = f'<meta http-equiv="Content-Type" content="text/html; charset={charset}">'
    return f"<html><head>{head}</head><body>{ARABIC}</body></html>"


@pytest.mark.parametrize(
    ("data", "http_charset"),
    [
        (_page("windows-1256").encode("cp1256"), None),  # declared only in <meta http-equiv>
        (_page("windows-1256").encode("cp1256"), "windows-1256"),
        (_page("windows-1256").encode("cp1256"), "utf-8"),  # a wrong HTTP charset that does not decode
        (_page("utf-8").encode("cp1256"), None),  # a wrong declaration: Arabic windows-1256 bytes
        (_page("x-unknown").encode("cp1256"), None),
        (_page("utf-8").encode(), None),
        (_page("windows-1256").encode(), None),  # re-encoded as UTF-8, old label left behind
        (_page("utf-8").encode(), "windows-1256"),
        (b"\xef\xbb\xbf" + _page("windows-1256").encode(), "windows-1256"),  # the BOM wins
        (b"\xff\xfe" + _page("utf-16").encode("utf-16-le"), None),
        (f'<meta charset="iso-8859-6"><body>{ARABIC}</body>'.encode("iso-8859-6"), None),
        (_page("utf-8").encode("cp1256"), "utf-8"),  # wrong everywhere: the bytes still read as Arabic
    ],
)
def test_decode_html(data, http_charset):
    assert ARABIC in decode_html(data, http_charset)


def test_decode_utf8_labelled_windows_1256_with_a_stray_byte():
    """A page overwhelmingly valid UTF-8 is UTF-8, whatever its label says, stray byte or not (issue 14)."""
    page = _page("windows-1256").encode()
    data = page.replace(b"<body>", b"<body>\xff", 1)
    assert ARABIC in decode_html(data) and ARABIC in decode_html(data, "windows-1256")
    # Real windows-1256 Arabic, even a few letters of it, still reads as windows-1256.
    assert decode_html(_page("windows-1256").encode("cp1256")).count(ARABIC) == 1
    short = '<meta charset="windows-1256"><p>حلب</p>'.encode("cp1256")
    assert "حلب" in decode_html(short)


def test_decode_english_windows_1252_declared_utf8():
    data = '<meta charset="utf-8"><p>Don’t “quote” — café</p>'.encode("cp1252")
    assert "Don’t “quote” — café" in decode_html(data)


def test_decode_html_never_raises():
    assert decode_html(b"") == ""
    assert decode_html(bytes(range(256)) * 10)
    assert decode_html(b"\xff\xfe\x00") is not None
    assert decode_html(b"abc", "no-such-charset") == "abc"
    cut = _page("utf-8").encode()[:-20]  # cut inside a character
    assert ARABIC[:10] in decode_html(cut[: cut.rindex(b"\xd9") + 1])


@pytest.mark.parametrize(
    ("html", "whole"),
    [
        (_page("utf-8"), True),
        (_page("utf-8") + "\n<!-- cached 0.1 s -->\n", True),
        ("<HTML><body>x</BODY></HTML >", True),
        (_page("utf-8")[:-10], False),  # cut before its closing tag
        ("", False),
    ],
)
def test_ends_whole(html, whole):
    assert ends_whole(html) is whole

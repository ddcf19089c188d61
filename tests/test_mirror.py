"""The local mirror: URL to file mapping, refusals, the request log, and every fault rule."""

from __future__ import annotations

import gzip
import http.client
import json
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import as_from_a_terminal, forbidden_requests

from zwcrawl.mirror import LoggedRequest, MirrorError, MirrorServer, read_request_log, serve_forever
from zwcrawl.mirror.faults import Faults

EN = "en.zamanalwsl.net"
AR = "www.zamanalwsl.net"


def get(mirror: MirrorServer, edition: str, path: str, method: str = "GET", headers: dict | None = None):
    """One request over a fresh connection, path sent exactly as given: (status, headers, body)."""
    parts = urlsplit(mirror.base_urls[edition])
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


@pytest.mark.parametrize(
    "edition, path, file, content_type",
    [
        ("en", "/", f"{EN}/index.html", "text/html; charset=utf-8"),
        ("en", "/index.html", f"{EN}/index.html", "text/html; charset=utf-8"),
        ("en", "/news/article/34489", f"{EN}/news/article/34489.html", "text/html; charset=utf-8"),
        ("en", "/news/article/34489/", f"{EN}/news/article/34489.html", "text/html; charset=utf-8"),
        (
            "en",
            "/news/article/34489?ref=rss&x=1",
            f"{EN}/news/article/34489.html",
            "text/html; charset=utf-8",
        ),
        ("en", "/news/articles/89/1", f"{EN}/news/articles/89/1.html", "text/html; charset=utf-8"),
        ("en", "/news/articles/89/1/", f"{EN}/news/articles/89/1.html", "text/html; charset=utf-8"),
        ("en", "/news/rss/52/", f"{EN}/news/rss/52.xml", "application/rss+xml; charset=utf-8"),
        ("en", "/news/rss/52", f"{EN}/news/rss/52.xml", "application/rss+xml; charset=utf-8"),
        ("en", "/robots.txt", f"{EN}/robots.txt", "text/plain; charset=utf-8"),
        ("ar", "/", f"{AR}/index.html", "text/html; charset=utf-8"),
        ("ar", "/news/article/44954", f"{AR}/news/article/44954.html", "text/html; charset=utf-8"),
        ("ar", "/news/rss/94/", f"{AR}/news/rss/94.xml", "application/rss+xml; charset=utf-8"),
    ],
)
def test_paths_map_to_files(mirror, zwsite, edition, path, file, content_type):
    status, headers, body = get(mirror, edition, path)
    assert status == 200
    assert body == (zwsite / file).read_bytes()
    assert headers["Content-Type"] == content_type
    assert headers["Content-Length"] == str(len(body))


def test_charset_comes_from_the_page(mirror_factory, tmp_path):
    (tmp_path / "site" / EN).mkdir(parents=True)
    (tmp_path / "site" / EN / "index.html").write_bytes(
        b'<html><head><meta charset="windows-1256"></head><body>\xd2</body></html>'
    )
    mirror = mirror_factory(tmp_path / "site")
    assert mirror.editions == ["en"]
    assert get(mirror, "en", "/")[1]["Content-Type"] == "text/html; charset=windows-1256"


@pytest.mark.parametrize(
    "path", ["/news/article/1", "/nope", "/News/Article/34489", "/news/article/34489.html/x"]
)
def test_missing_is_a_404_with_a_small_page(mirror, path):
    status, headers, body = get(mirror, "en", path)
    assert status == 404
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert b"404 Not Found" in body and len(body) < 500


@pytest.mark.parametrize(
    "path",
    [
        "/../README.md",
        "/%2e%2e/README.md",
        "/%2E%2E/%2e%2e/etc/passwd",
        "/news/..%2f..%2f..%2fREADME.md",
        "/..%5c..%5cREADME.md",
        "/../www.zamanalwsl.net/index.html",
        "/./../expected/en/34489.json",
        "/%2Fetc%2Fpasswd",
        "//etc/passwd",
        "/etc/passwd%00.html",
        "http://127.0.0.1/../README.md",
        "README.md",
    ],
)
def test_nothing_outside_the_edition_directory_is_served(mirror, path):
    assert get(mirror, "en", path)[0] == 404


def test_a_symlink_out_of_the_site_is_not_followed(mirror_factory, tmp_path):
    (tmp_path / "secret.html").write_text("secret")
    (tmp_path / "site" / EN).mkdir(parents=True)
    (tmp_path / "site" / EN / "leak.html").symlink_to(tmp_path / "secret.html")
    assert get(mirror_factory(tmp_path / "site"), "en", "/leak")[0] == 404


def test_head_answers_headers_only(mirror, zwsite):
    status, headers, body = get(mirror, "en", "/news/article/34489", method="HEAD")
    assert (status, body) == (200, b"")
    assert headers["Content-Length"] == str(len((zwsite / EN / "news/article/34489.html").read_bytes()))


def test_forms_are_refused_and_logged(mirror):
    status, headers, _ = get(mirror, "en", "/news/comment/34489", method="POST")
    assert status == 405 and headers["Allow"] == "GET, HEAD"
    assert mirror.requests[-1].method == "POST"
    assert forbidden_requests(mirror.requests) == mirror.requests


def test_request_log_in_memory_and_on_disk(mirror):
    get(mirror, "en", "/news/article/34489/?a=%20b", headers={"User-Agent": "Mozilla/5.0 test"})
    get(mirror, "ar", "/missing", method="HEAD")
    first, second = mirror.requests
    assert (first.edition, first.method, first.path, first.status) == (
        "en",
        "GET",
        "/news/article/34489/?a=%20b",
        200,
    )
    assert first.headers["User-Agent"] == "Mozilla/5.0 test"
    assert first.bytes_sent == int(get(mirror, "en", "/news/article/34489")[1]["Content-Length"])
    assert first.origin == mirror.base_urls["en"] and first.robots_allowed
    assert first.time.endswith("Z")
    assert (second.edition, second.method, second.status, second.bytes_sent) == ("ar", "HEAD", 404, 0)
    assert mirror.log_path.name == "mirror.jsonl"
    assert read_request_log(mirror.log_path) == mirror.requests
    # A killed run can leave half a line: it is skipped, not fatal.
    with mirror.log_path.open("a") as log:
        log.write('{"edition": "en", "meth')
    assert read_request_log(mirror.log_path) == mirror.requests


def test_binds_to_loopback_only(mirror, zwsite):
    for edition, base in mirror.base_urls.items():
        assert base.startswith("http://127.0.0.1:")
        assert f"{edition}={base}" in mirror.site_args()
    for host in ("0.0.0.0", "", "192.0.2.1", "::", "example.org"):
        with pytest.raises(MirrorError, match="loopback"):
            MirrorServer(zwsite, host=host)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"root": "/nonexistent/site"}, "no such site directory"),
        ({"root": "EMPTY"}, "no site to serve"),
        ({"editions": ["fr"]}, "unknown edition 'fr'"),
        ({"ports": {"en": 70000}}, "bad port"),
        ({"faults": {"en": {"/x": {"stauts": 503}}}}, "unknown option 'stauts'"),
        ({"faults": {"en": {"/x": {"status": "503"}}}}, "bad value"),
        ({"faults": {"en": {"x": {"gzip": True}}}}, "a key is a path"),
        ({"faults": {"de": {}}}, "not an edition"),
        ({"faults": {"ar": {"/x": {"encoding": "no-such-codec"}}}}, "bad value for 'encoding'"),
        ({"faults": "MISSING"}, "not a readable faults file"),
    ],
)
def test_bad_input_is_one_clear_error(zwsite, tmp_path, kwargs, message):
    root = kwargs.pop("root", zwsite)
    if root == "EMPTY":
        root = tmp_path
    if kwargs.get("faults") == "MISSING":
        kwargs["faults"] = tmp_path / "faults.json"
    with pytest.raises(MirrorError, match=message):
        MirrorServer(root, **kwargs)


def test_a_port_in_use_is_a_clear_error(mirror, zwsite):
    taken = int(mirror.base_urls["ar"].rsplit(":", 1)[1])
    with pytest.raises(MirrorError, match=f"cannot listen on 127.0.0.1:{taken} for ar"):
        MirrorServer(zwsite, ports={"en": 0, "ar": taken}).start()


def test_serve_forever_prints_the_site_arguments_and_stops_on_ctrl_c(zwsite):
    code = f"from zwcrawl.mirror import serve_forever; serve_forever({str(zwsite)!r}, {{'en': 0, 'ar': 0}})"
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, preexec_fn=as_from_a_terminal
    )
    try:
        lines = [proc.stdout.readline() for _ in range(3)]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
    assert lines[0].startswith("en  http://127.0.0.1:") and "--site en=http://127.0.0.1:" in lines[0]
    assert lines[1].startswith("ar  http://127.0.0.1:")
    assert lines[2].startswith("zwcrawl crawl --site en=http://127.0.0.1:")


def test_serve_forever_refuses_a_missing_site(tmp_path):
    with pytest.raises(MirrorError, match="no such site directory"):
        serve_forever(tmp_path / "nope", {"en": 0})


# Fault rules.


def test_status_with_retry_after_then_normal(mirror_factory):
    mirror = mirror_factory(
        faults={"en": {"/news/article/34489": {"status": 503, "retry_after": 2, "times": 1}}}
    )
    status, headers, _ = get(mirror, "en", "/news/article/34489")
    assert (status, headers["Retry-After"]) == (503, "2")
    # The key names the path with or without its trailing slash, and the count is shared.
    assert get(mirror, "en", "/news/article/34489/")[0] == 200
    assert [r.faults for r in mirror.requests] == [["retry_after", "status"], []]


def test_status_without_times_is_forever(mirror_factory):
    mirror = mirror_factory(faults={"ar": {"/": {"status": 429}}})
    assert [get(mirror, "ar", "/")[0] for _ in range(3)] == [429, 429, 429]
    assert get(mirror, "ar", "/news/article/87620")[0] == 200


def test_times_is_counted_per_path_for_a_wildcard(mirror_factory):
    mirror = mirror_factory(faults={"en": {"*": {"status": 500, "times": 1}}})
    assert [get(mirror, "en", p)[0] for p in ("/", "/", "/robots.txt", "/robots.txt")] == [500, 200, 500, 200]


def test_times_is_thread_safe(mirror_factory):
    mirror = mirror_factory(faults={"en": {"/": {"status": 503, "times": 3}}})
    statuses = []
    threads = [threading.Thread(target=lambda: statuses.append(get(mirror, "en", "/")[0])) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] * 9 + [503] * 3


def test_slow_page(mirror_factory):
    mirror = mirror_factory(faults={"en": {"/news/article/34489": {"delay": 0.3}}})
    parts = urlsplit(mirror.base_urls["en"])
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=0.05)
    with pytest.raises(TimeoutError):
        conn.request("GET", "/news/article/34489")
        conn.getresponse()
    conn.close()
    assert get(mirror, "en", "/news/article/34489")[0] == 200


def test_gzip_when_accepted(mirror_factory, zwsite):
    mirror = mirror_factory(faults={"en": {"*": {"gzip": True}}})
    page = (zwsite / EN / "news/article/34489.html").read_bytes()
    status, headers, body = get(
        mirror, "en", "/news/article/34489", headers={"Accept-Encoding": "gzip, deflate"}
    )
    assert (status, headers["Content-Encoding"], headers["Vary"]) == (200, "gzip", "Accept-Encoding")
    assert headers["Content-Length"] == str(len(body)) and gzip.decompress(body) == page
    # The same page compresses to the same bytes (no timestamp), so an unchanged page has one digest.
    assert get(mirror, "en", "/news/article/34489", headers={"Accept-Encoding": "gzip"})[2] == body
    assert gzip.decompress(get(mirror, "en", "/nope", headers={"Accept-Encoding": "gzip"})[2]).startswith(
        b"<!"
    )
    for refused in ({}, {"Accept-Encoding": "identity"}, {"Accept-Encoding": "gzip;q=0, br"}):
        status, headers, body = get(mirror, "en", "/news/article/34489", headers=refused)
        assert "Content-Encoding" not in headers and body == page
    assert "Content-Encoding" not in get(mirror, "ar", "/", headers={"Accept-Encoding": "gzip"})[1]


def test_rules_compose(mirror_factory):
    faults = {
        "en": {"*": {"gzip": True}, "/news/article/34489": {"status": 503, "retry_after": 1, "times": 1}}
    }
    mirror = mirror_factory(faults=faults)
    status, headers, body = get(mirror, "en", "/news/article/34489", headers={"Accept-Encoding": "gzip"})
    assert (status, headers["Retry-After"], headers["Content-Encoding"]) == (503, "1", "gzip")
    assert b"503 Service Unavailable" in gzip.decompress(body)
    status, headers, body = get(mirror, "en", "/news/article/34489", headers={"Accept-Encoding": "gzip"})
    assert (status, headers["Content-Encoding"]) == (200, "gzip") and b"Daesh" in gzip.decompress(body)


@pytest.mark.parametrize("mode", [True, "headers"])
def test_reset_once(mirror_factory, mode):
    mirror = mirror_factory(faults={"en": {"/news/article/34489": {"reset": mode, "times": 1}}})
    with pytest.raises((ConnectionError, http.client.HTTPException)):
        get(mirror, "en", "/news/article/34489")
    assert get(mirror, "en", "/news/article/34489")[0] == 200
    assert [(r.status, r.bytes_sent) for r in mirror.requests][0] == (None, 0)


def test_truncated_body_once(mirror_factory, zwsite):
    mirror = mirror_factory(faults={"en": {"/news/article/34489": {"truncate": 200, "times": 1}}})
    page = (zwsite / EN / "news/article/34489.html").read_bytes()
    with pytest.raises(http.client.IncompleteRead) as caught:
        get(mirror, "en", "/news/article/34489")
    assert caught.value.partial == page[:200] and caught.value.expected == len(page) - 200
    assert get(mirror, "en", "/news/article/34489")[2] == page
    assert mirror.requests[0].bytes_sent == 200


def test_truncated_body_without_content_length_looks_complete(mirror_factory, zwsite):
    rule = {"truncate": 200, "content_length": False, "times": 1}
    mirror = mirror_factory(faults={"en": {"/news/article/34489": rule}})
    page = (zwsite / EN / "news/article/34489.html").read_bytes()
    status, headers, body = get(mirror, "en", "/news/article/34489")
    assert (status, body, headers["Content-Length"], headers["Connection"]) == (
        200,
        page[:200],
        None,
        "close",
    )
    assert get(mirror, "en", "/news/article/34489")[2] == page


def test_redirect_to_another_spelling(mirror_factory):
    mirror = mirror_factory(
        faults={"en": {"/news/article/34466": {"redirect": "/news/article/34466/", "status": 301}}}
    )
    status, headers, _ = get(mirror, "en", "/news/article/34466")
    assert (status, headers["Location"]) == (301, "/news/article/34466/")
    # The target matches the rule's key too, but a redirect never points at the URL it answers.
    assert get(mirror, "en", "/news/article/34466/")[0] == 200


def test_redirect_loop(mirror_factory):
    loop = {"/a": {"redirect": "/b", "status": 302}, "/b": {"redirect": "/a"}}
    mirror = mirror_factory(faults={"en": loop})
    path, hops = "/a", []
    for _ in range(4):
        status, headers, _ = get(mirror, "en", path)
        hops.append((status, headers["Location"]))
        path = headers["Location"]
    assert hops == [(302, "/b"), (301, "/a"), (302, "/b"), (301, "/a")]


@pytest.mark.parametrize("charset_header", [True, False])
def test_reencoded_page(mirror_factory, zwsite, charset_header):
    rule = {"encoding": "windows-1256", "charset_header": charset_header}
    mirror = mirror_factory(faults={"ar": {"/news/article/44954": rule}})
    status, headers, body = get(mirror, "ar", "/news/article/44954")
    original = (zwsite / AR / "news/article/44954.html").read_text(encoding="utf-8")
    assert headers["Content-Type"] == ("text/html; charset=windows-1256" if charset_header else "text/html")
    assert body.decode("windows-1256") == original.replace("charset=utf-8", "charset=windows-1256", 1)
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")


def test_next_forever(mirror_factory):
    mirror = mirror_factory(faults={"en": {"/news/articles/89/*": {"next_forever": True}}})
    assert b"34444" in get(mirror, "en", "/news/articles/89/2")[2]  # real pages are served as they are
    for page in (3, 1000):
        status, _, body = get(mirror, "en", f"/news/articles/89/{page}")
        assert status == 200 and b"news-item" not in body
        assert f'<a class="next" href="/news/articles/89/{page + 1}">Next</a>'.encode() in body
    assert get(mirror, "en", "/news/articles/89/x")[0] == 404
    assert get(mirror, "en", "/news/articles/30/2")[0] == 404


@pytest.mark.parametrize("edition, text", [("en", "could not be found"), ("ar", "غير موجود")])
def test_soft404(mirror_factory, edition, text):
    mirror = mirror_factory(faults={edition: {"/news/article/99999": {"soft404": True}}})
    status, headers, body = get(mirror, edition, "/news/article/99999")
    assert (status, headers["Content-Type"]) == (200, "text/html; charset=utf-8")
    assert text in body.decode()


def test_fill_ports(mirror_factory, trapsite):
    mirror = mirror_factory(trapsite)
    body = get(mirror, "en", "/")[2].decode()
    assert "{{port:" not in body
    assert f'href="{mirror.base_urls["ar"]}/news/article/87620/dislike"' in body


def test_faults_file_in_the_site_root_and_layers(mirror_factory, zwsite, tmp_path):
    overlay = tmp_path / "overlay"
    (overlay / EN).mkdir(parents=True)
    (overlay / EN / "index.html").write_text("<html>overlay</html>")
    (overlay / "faults.json").write_text(json.dumps({"en": {"/robots.txt": {"status": 503}}}))
    mirror = mirror_factory([overlay, zwsite])
    assert get(mirror, "en", "/")[2] == b"<html>overlay</html>"
    assert get(mirror, "en", "/robots.txt")[0] == 503
    assert get(mirror, "en", "/news/article/34489")[0] == 200
    # The same overlay can name its base itself; an explicit faults argument replaces the file's rules.
    shutil.copy(overlay / "faults.json", tmp_path / "rules.json")
    (overlay / "faults.json").write_text(json.dumps({"extends": str(zwsite)}))
    mirror = mirror_factory(overlay, faults=tmp_path / "rules.json")
    assert get(mirror, "en", "/robots.txt")[0] == 503 and get(mirror, "ar", "/")[0] == 200


def test_faultsite_rules_are_valid_and_documented(faultsite):
    rules = json.loads((faultsite / "faults.json").read_text())
    Faults(rules)
    readme = (faultsite / "README.md").read_text()
    for edition in ("en", "ar"):
        for key in rules[edition]:
            if key != "*":
                assert f"`{key.rstrip('*')}" in readme, key


def test_faultsite_serves_its_overlay_and_its_base(mirror_factory):
    mirror = mirror_factory(Path(__file__).parent / "fixtures" / "faultsite")
    assert b"/news/article/34491" in gzip.decompress(
        get(mirror, "en", "/news/articles/121/1", headers={"Accept-Encoding": "gzip"})[2]
    )
    assert get(mirror, "en", "/news/article/34491")[0] == 200
    assert get(mirror, "en", "/news/article/34399")[0] == 404
    assert get(mirror, "ar", "/news/article/44954")[1]["Content-Type"] == "text/html"


# The safety check other tests use on a crawl's request log.


@pytest.mark.parametrize(
    "edition, path, method, forbidden",
    [
        ("en", "/news/article/34489", "GET", False),
        ("en", "/news/articles/3/2", "HEAD", False),
        ("en", "/news/rss/52/", "GET", False),
        ("en", "/robots.txt", "GET", False),
        ("en", "/news/article/34489/like", "GET", True),
        ("en", "/news/article/34489/DISLIKE/", "HEAD", True),
        ("en", "/news/article/34489/%6Cike", "GET", True),
        ("en", "/news//article/34489/like?x=1", "GET", True),
        ("ar", "/news/article/87620/dislike", "GET", True),
        ("en", "/news/search?keyword=Daesh", "GET", True),
        ("en", "/news/print/34489", "GET", True),
        ("en", "/news/comment/34489", "GET", True),
        ("en", "/captcha/get/34489", "GET", True),
        ("en", "/news/articles/999/1", "GET", True),  # robots.txt of the trap site disallows it
        ("en", "/news/article/34501", "GET", True),
        ("en", "/", "POST", True),
    ],
)
def test_forbidden_requests_on_the_trap_site(mirror_factory, trapsite, edition, path, method, forbidden):
    mirror = mirror_factory(trapsite)
    get(mirror, edition, path, method=method)
    assert forbidden_requests(mirror.requests) == (mirror.requests if forbidden else [])
    as_json = [json.loads(line) for line in mirror.log_path.read_text().splitlines()]
    assert forbidden_requests(as_json) == (mirror.requests if forbidden else [])


def test_forbidden_requests_flags_another_host_name(mirror_factory, trapsite):
    mirror = mirror_factory(trapsite)
    port = urlsplit(mirror.base_urls["en"]).port
    get(mirror, "en", "/news/article/34489", headers={"Host": f"localhost:{port}"})
    assert [r.path for r in forbidden_requests(mirror.requests)] == ["/news/article/34489"]


def test_forbidden_requests_accepts_a_whole_ordinary_walk(mirror, zwsite):
    for edition, host in (("en", EN), ("ar", AR)):
        for file in sorted((zwsite / host).rglob("*")):
            if file.is_file():
                path = "/" + file.relative_to(zwsite / host).as_posix().removesuffix(".html").removesuffix(
                    ".xml"
                )
                path = path.removesuffix("index")
                assert get(mirror, edition, path)[0] == 200, path
    assert len(mirror.requests) > 30
    assert forbidden_requests(mirror.requests) == []
    assert all(isinstance(r, LoggedRequest) for r in mirror.requests)

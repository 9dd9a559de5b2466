"""Safe photo fetching against real local servers: refusals, redirects, the pinned address.

No database: a plain HTTP server on 127.0.0.1 (and a TLS one for the server-name check), the
real resolver for `localhost`, and counted resolutions.
"""

from __future__ import annotations

import datetime as dt
import http.server
import io
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastapi import FastAPI, Request, Response
from PIL import Image

from briefcast.pipeline.render import photos, safe_fetch
from briefcast.pipeline.render.safe_fetch import AllowList, FetchError, RefusedAddressError
from briefcast.pipeline.render.storage import LocalMediaStore
from briefcast.sandbox.server import serve_in_thread


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 200)).save(out, "JPEG")
    return out.getvalue()


PHOTO = _jpeg()


@dataclass
class PhotoServer:
    port: int
    seen: list[tuple[str, str]] = field(default_factory=list)  # (path, Host header)

    def url(self, path: str, host: str = "localhost") -> str:
        return f"http://{host}:{self.port}{path}"


@pytest.fixture(scope="module")
def server() -> Iterator[PhotoServer]:
    app = FastAPI()
    seen: list[tuple[str, str]] = []

    @app.middleware("http")
    async def record(request: Request, call_next: Any) -> Response:
        seen.append((request.url.path, request.headers.get("host", "")))
        response: Response = await call_next(request)
        return response

    @app.get("/photo.jpg")
    def photo() -> Response:
        return Response(PHOTO, media_type="image/jpeg")

    @app.get("/big.jpg")
    def big() -> Response:
        return Response(PHOTO + bytes(200_000), media_type="image/jpeg")

    @app.get("/redirect")
    def redirect(to: str) -> Response:
        return Response(status_code=302, headers={"Location": to})

    @app.get("/loop")
    def loop() -> Response:
        return Response(status_code=302, headers={"Location": "/loop"})

    running = serve_in_thread(app)
    yield PhotoServer(running.port, seen)
    running.stop()


@pytest.fixture
def fresh(server: PhotoServer) -> PhotoServer:
    server.seen.clear()
    return server


@pytest.fixture
def resolutions(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every call of the fetcher's resolver, still resolving for real."""
    calls: list[tuple[str, int]] = []
    real = safe_fetch.resolve

    def counted(host: str, port: int) -> list[safe_fetch.IPAddress]:
        calls.append((host, port))
        return real(host, port)

    monkeypatch.setattr(safe_fetch, "resolve", counted)
    return calls


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every host name anything in this process asks the system resolver for."""
    names: list[str] = []
    real = socket.getaddrinfo

    def recorded(host: Any, *args: Any, **kwargs: Any) -> Any:
        names.append(str(host))
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", recorded)
    return names


def _fetch(url: str, allowed: list[str] | None = None, **kwargs: Any) -> bytes:
    return safe_fetch.fetch(
        url, max_bytes=100_000, timeout_s=5, allowed=AllowList.parse(allowed or []), **kwargs
    )


def test_a_name_that_resolves_to_loopback_is_refused_before_any_connection(
    fresh: PhotoServer, resolutions: list[tuple[str, int]]
) -> None:
    with pytest.raises(RefusedAddressError) as caught:
        _fetch(fresh.url("/photo.jpg"))
    assert str(caught.value).startswith("photo_url resolves to a loopback address (")
    assert "only public addresses are fetched" in str(caught.value)
    assert resolutions == [("localhost", fresh.port)]  # really resolved, then refused
    assert fresh.seen == []  # the server never heard from us


# 2130706433 is 127.0.0.1 as one number; the resolver reads it as that address.
LOOPBACK_SPELLINGS = ["127.0.0.1", "[::ffff:127.0.0.1]", "0.0.0.0", "2130706433"]  # noqa: S104


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_loopback_in_any_spelling_is_refused(fresh: PhotoServer, host: str) -> None:
    with pytest.raises(RefusedAddressError, match="resolves to"):
        _fetch(fresh.url("/photo.jpg", host))
    assert fresh.seen == []


def test_the_render_stage_gets_a_reason_a_person_can_act_on(
    fresh: PhotoServer, tmp_path: Path
) -> None:
    with pytest.raises(photos.PhotoUnavailableError) as caught:
        photos.load(
            LocalMediaStore(tmp_path), upload_key=None, url=fresh.url("/photo.jpg", "127.0.0.1"),
            max_bytes=100_000, max_pixels=1_000_000, timeout_s=5,
        )  # fmt: skip
    assert str(caught.value).startswith(
        "photo_url resolves to a loopback address (127.0.0.1); only public addresses are fetched"
    )
    allowed = AllowList.parse(["127.0.0.1"])
    image = photos.load(
        LocalMediaStore(tmp_path), upload_key=None, url=fresh.url("/photo.jpg", "127.0.0.1"),
        max_bytes=100_000, max_pixels=1_000_000, timeout_s=5, allowed=allowed,
    )  # fmt: skip
    assert image.size == (64, 48)


def test_an_allow_listed_host_is_fetched_from_the_address_that_was_checked(
    fresh: PhotoServer, resolutions: list[tuple[str, int]], lookups: list[str]
) -> None:
    assert _fetch(fresh.url("/photo.jpg"), ["localhost"]) == PHOTO
    assert resolutions == [("localhost", fresh.port)]  # once, by the check
    assert lookups.count("localhost") == 1  # and nothing resolved the name again to connect
    assert fresh.seen == [("/photo.jpg", f"localhost:{fresh.port}")]  # the original Host


def test_a_changed_dns_answer_after_the_check_is_never_used(
    fresh: PhotoServer, lookups: list[str]
) -> None:
    """DNS rebinding: the name answers 127.0.0.1 (allowed) once, then a refused address."""
    answers = iter([["127.0.0.1"], ["10.255.255.1"], ["10.255.255.1"]])
    calls: list[str] = []

    def rebinding(host: str, port: int) -> list[safe_fetch.IPAddress]:
        calls.append(host)
        return [ipaddress.ip_address(a) for a in next(answers)]

    url = f"http://rebind.test:{fresh.port}/photo.jpg"
    assert _fetch(url, ["127.0.0.1/32"], resolver=rebinding) == PHOTO
    assert calls == ["rebind.test"]  # resolved once; the connection went to that answer
    assert "rebind.test" not in lookups  # the HTTP client never looked the name up itself
    assert fresh.seen == [("/photo.jpg", f"rebind.test:{fresh.port}")]


def test_a_redirect_from_an_allowed_host_to_a_private_address_is_refused(
    fresh: PhotoServer, resolutions: list[tuple[str, int]]
) -> None:
    with pytest.raises(RefusedAddressError) as caught:
        _fetch(fresh.url("/redirect?to=http://10.0.0.5/x.jpg"), ["localhost"])
    assert str(caught.value).startswith(
        "photo_url's redirect to http://10.0.0.5/x.jpg resolves to a private address "
        "(10.0.0.5); only public addresses are fetched"
    )
    assert [path for path, _ in fresh.seen] == ["/redirect"]


def test_a_redirect_to_a_real_server_that_is_not_allowed_is_not_followed(
    fresh: PhotoServer,
) -> None:
    # The same server, but by an address the allow-list (which names only `localhost`)
    # does not cover: refused before connecting, so the photo is never requested.
    target = fresh.url("/photo.jpg", "127.0.0.1")
    with pytest.raises(RefusedAddressError, match=r"a loopback address \(127\.0\.0\.1\)"):
        _fetch(fresh.url(f"/redirect?to={target}"), ["localhost"])
    assert [path for path, _ in fresh.seen] == ["/redirect"]


def test_redirects_are_followed_by_hand_and_every_hop_is_resolved_and_checked(
    fresh: PhotoServer, resolutions: list[tuple[str, int]]
) -> None:
    assert _fetch(fresh.url("/redirect?to=/photo.jpg"), ["localhost"]) == PHOTO
    assert resolutions == [("localhost", fresh.port)] * 2
    assert [path for path, _ in fresh.seen] == ["/redirect", "/photo.jpg"]


def test_redirects_are_limited(fresh: PhotoServer) -> None:
    with pytest.raises(FetchError, match="redirects more than 3 times"):
        _fetch(fresh.url("/loop"), ["localhost"])
    assert [path for path, _ in fresh.seen] == ["/loop"] * 4


def test_a_redirect_to_another_scheme_is_refused(fresh: PhotoServer) -> None:
    with pytest.raises(RefusedAddressError, match="must be an http or https URL"):
        _fetch(fresh.url("/redirect?to=file:///etc/passwd"), ["localhost"])


def test_the_size_limit_and_http_errors_still_apply(fresh: PhotoServer) -> None:
    with pytest.raises(FetchError, match="over the limit of 100000 bytes"):
        _fetch(fresh.url("/big.jpg"), ["localhost"])
    with pytest.raises(FetchError, match="answered HTTP 404"):
        _fetch(fresh.url("/missing.jpg"), ["localhost"])


# HTTPS: the connection goes to the IP, the certificate is still checked for the name.


def _certificate(
    name: str, issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None = None
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    issuer_name, issuer_key = issuer or (subject, key)
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
    )
    if issuer is None:  # the test CA
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
    else:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), False)
    return builder.sign(issuer_key, hashes.SHA256()), key


@dataclass
class TlsServer:
    port: int
    ca: ssl.SSLContext  # a client context that trusts the test CA
    server_names: list[str | None]  # SNI as received
    hosts: list[str]


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsServer]:
    ca_cert, ca_key = _certificate("Briefcast test CA")
    cert, key = _certificate("photos.test", (ca_cert.subject, ca_key))
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    names: list[str | None] = []
    hosts: list[str] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    context.sni_callback = lambda sock, name, ctx: names.append(name)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hosts.append(self.headers.get("Host", ""))
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(PHOTO)))
            self.end_headers()
            self.wfile.write(PHOTO)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    client = ssl.create_default_context(
        cadata=ca_cert.public_bytes(serialization.Encoding.PEM).decode()
    )
    yield TlsServer(httpd.server_address[1], client, names, hosts)
    httpd.shutdown()
    httpd.server_close()


def _to_loopback(host: str, port: int) -> list[safe_fetch.IPAddress]:
    return [ipaddress.ip_address("127.0.0.1")]


def test_https_connects_to_the_ip_but_sends_and_verifies_the_name(tls_server: TlsServer) -> None:
    tls_server.server_names.clear()
    tls_server.hosts.clear()
    url = f"https://photos.test:{tls_server.port}/photo.jpg"
    body = _fetch(url, ["photos.test"], resolver=_to_loopback, verify=tls_server.ca)
    assert body == PHOTO
    assert tls_server.server_names == ["photos.test"]  # SNI: the name, not 127.0.0.1
    assert tls_server.hosts == [f"photos.test:{tls_server.port}"]


def test_https_to_a_name_the_certificate_does_not_cover_fails(tls_server: TlsServer) -> None:
    url = f"https://other.test:{tls_server.port}/photo.jpg"
    with pytest.raises(FetchError, match="could not be fetched"):
        _fetch(url, ["other.test"], resolver=_to_loopback, verify=tls_server.ca)

"""The static server for the demo and the browser tests: only its own folders, only to its own Host."""

import http.client
import os

from soroban_vision.serve import StaticServer


def get(server: StaticServer, path: str, host: str | None = None) -> tuple[int, bytes]:
    port = int(server.url.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.putrequest("GET", path, skip_host=True)
        if host is not None:
            conn.putheader("Host", host)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_symlinks_out_of_a_served_folder_are_not_followed(tmp_path):
    served, secret = tmp_path / "served", tmp_path / "secret"
    served.mkdir()
    secret.mkdir()
    (served / "page.txt").write_text("public")
    (secret / "key.txt").write_text("private")
    os.symlink(secret / "key.txt", served / "key.txt")
    os.symlink(secret, served / "elsewhere")
    os.symlink(served / "page.txt", served / "alias.txt")  # a link that stays inside is fine
    with StaticServer({"/s/": served}) as server:
        host = server.url.removeprefix("http://")
        assert get(server, "/s/page.txt", host) == (200, b"public")
        assert get(server, "/s/alias.txt", host) == (200, b"public")
        for path in (
            "/s/key.txt",
            "/s/elsewhere/key.txt",
            "/s/../secret/key.txt",
            "/s/%2e%2e/secret/key.txt",
        ):
            status, body = get(server, path, host)
            assert status == 404 and b"private" not in body, path


def test_only_loopback_host_names_with_our_port_are_answered(tmp_path):
    (tmp_path / "page.txt").write_text("public")
    with StaticServer({"/s/": tmp_path}) as server:
        port = server.url.rsplit(":", 1)[1]
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}"):
            assert get(server, "/s/page.txt", host) == (200, b"public"), host
        for host in ("evil.example", f"evil.example:{port}", "127.0.0.1:1", "localhost", "", None):
            status, body = get(server, "/s/page.txt", host)
            assert status == 403 and b"public" not in body, host

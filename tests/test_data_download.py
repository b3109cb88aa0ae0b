"""The downloader against a local HTTP server that serves the real files, intact or damaged."""

import http.server
import socket
import threading

import pytest

import fastnet.data.download as download_module
from fastnet import DataError, download_mnist, load_mnist
from fastnet.data import MNIST_FILES, SHA256, default_cache_dir, locate_mnist
from fastnet.data.download import sha256_of


class _MirrorHandler(http.server.BaseHTTPRequestHandler):
    """Serves ``/<mode>/<file>`` from the MNIST folder. Modes: good; corrupt (one
    byte flipped); truncate (announces the full length, sends half, hangs up);
    badtest (only the t10k images are corrupt); anything else: 404."""

    def do_GET(self):
        _, mode, name = self.path.split("/", 2)
        path = self.server.mnist_dir / name
        if mode not in ("good", "corrupt", "truncate", "badtest") or not path.is_file():
            self.send_error(404)
            return
        body = bytearray(path.read_bytes())
        if mode == "corrupt" or (mode == "badtest" and name.startswith("t10k-images")):
            body[len(body) // 2] ^= 0xFF
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if mode == "truncate" else body)
        self.close_connection = True

    def log_message(self, *args):
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that hangs up mid-transfer is expected here


@pytest.fixture(scope="module")
def server(mnist_dir):
    httpd = _QuietServer(("127.0.0.1", 0), _MirrorHandler)
    httpd.mnist_dir = mnist_dir
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture(scope="module")
def closed_port_url():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def _files_in(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_good_download_lands_in_cache_then_loads_offline(server, closed_port_url, user_cache):
    assert download_mnist(user_cache, mirrors=[f"{server}/good/"], progress=False) == user_cache
    assert _files_in(user_cache) == sorted(MNIST_FILES)
    assert all(sha256_of(user_cache / name) == SHA256[name] for name in MNIST_FILES)
    (_, y_train), _, (X_test, _) = load_mnist(mirrors=[closed_port_url])  # the second call: no network
    assert X_test.shape == (10000, 784) and y_train[:3].tolist() == [5, 0, 4]


def test_load_mnist_downloads_when_nothing_is_local(server, user_cache):
    assert locate_mnist(mirrors=[f"{server}/good"]) == (user_cache, "download")  # what load_mnist reads
    assert _files_in(user_cache) == sorted(MNIST_FILES)


def test_mirrors_are_tried_in_order(server, closed_port_url, user_cache):
    mirrors = [closed_port_url, f"{server}/missing/", f"{server}/corrupt/", f"{server}/good/"]
    download_mnist(user_cache, mirrors=mirrors, progress=False)
    assert _files_in(user_cache) == sorted(MNIST_FILES)


@pytest.mark.parametrize("mode, problem", [
    ("corrupt", "SHA-256 mismatch"),
    ("truncate", "the connection closed after 4956211 of 9912422 bytes"),
    ("missing", "HTTP Error 404"),
])
def test_failed_download_leaves_nothing_in_cache(server, user_cache, mode, problem):
    with pytest.raises(DataError, match=problem) as caught:
        download_mnist(user_cache, mirrors=[f"{server}/{mode}/"], progress=False)
    assert f"{server}/{mode}/train-images-idx3-ubyte.gz" in str(caught.value)
    assert _files_in(user_cache) == []


def test_one_bad_file_keeps_the_verified_ones_out_of_the_cache_too(server, user_cache):
    with pytest.raises(DataError, match="could not download t10k-images-idx3-ubyte.gz intact"):
        download_mnist(user_cache, mirrors=[f"{server}/badtest/"], progress=False)
    assert _files_in(user_cache) == []


def test_interrupted_download_leaves_nothing(server, user_cache, monkeypatch):
    class InterruptingBar:
        def __init__(self, **kwargs):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def update(self, count):
            raise KeyboardInterrupt

    monkeypatch.setattr(download_module, "tqdm", InterruptingBar)
    with pytest.raises(KeyboardInterrupt):
        download_mnist(user_cache, mirrors=[f"{server}/good/"])
    assert _files_in(user_cache) == []


def test_no_network_and_no_local_copy_says_how_to_point_at_data(closed_port_url, user_cache):
    with pytest.raises(DataError) as caught:
        load_mnist(mirrors=[closed_port_url])
    message = str(caught.value)
    assert closed_port_url + "train-images-idx3-ubyte.gz" in message and "refused" in message
    assert "export FASTNET_DATA=/path/to/that/folder" in message
    assert 'fastnet.load_mnist(path="/path/to/that/folder")' in message
    assert _files_in(user_cache) == []


def test_files_already_cached_are_kept(server, closed_port_url, user_cache, mnist_dir):
    user_cache.mkdir(parents=True)
    (user_cache / MNIST_FILES[0]).write_bytes((mnist_dir / MNIST_FILES[0]).read_bytes())
    (user_cache / MNIST_FILES[1]).write_bytes(b"stale")
    kept_inode = (user_cache / MNIST_FILES[0]).stat().st_ino
    download_mnist(user_cache, mirrors=[f"{server}/good/"], progress=False)
    assert (user_cache / MNIST_FILES[0]).stat().st_ino == kept_inode
    assert all(sha256_of(user_cache / name) == SHA256[name] for name in MNIST_FILES)


@pytest.mark.parametrize("mirrors, error, message", [
    ("http://127.0.0.1/", TypeError, "wrap a single URL in a list"),
    (["ftp://example.invalid/"], ValueError, "http:// or https:// base URLs"),
    ([], ValueError, "mirrors: is empty"),
    (7, TypeError, "mirrors: expected a list or tuple"),
])
def test_bad_mirrors_are_named(tmp_path, mirrors, error, message):
    with pytest.raises(error, match=message):
        download_mnist(tmp_path, mirrors=mirrors)


def test_bad_timeout_is_named(tmp_path):
    with pytest.raises(ValueError, match="timeout: expected a positive number of seconds, got 0"):
        download_mnist(tmp_path, timeout=0)


def test_default_cache_dir_follows_xdg_then_home(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "fastnet"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "fastnet"

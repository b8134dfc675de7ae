"""The ImageNet VGG16 fetch end to end against a file server on 127.0.0.1 (progress, cache, hash, one fetch only),
the one-line message when it cannot happen, and a lesson run offline using random weights and saying so."""
import hashlib, http.server, io, json, os, subprocess, sys, threading, types
from pathlib import Path
import pytest, torch, torchvision
from sclle_nb import vgg as V

ROOT = Path(__file__).resolve().parents[1]

def fake_vgg16_bytes()->bytes:
    "A VGG16 state dict with every `features.*` entry of the right shape, each a broadcast constant: a few kB."
    f = torchvision.models.vgg.make_layers(torchvision.models.vgg.cfgs["D"])
    sd = {f"features.{k}": torch.full((1,)*v.ndim, 0.01*(i + 1)).expand(v.shape) for i, (k, v) in enumerate(f.state_dict().items())}
    buf = io.BytesIO(); torch.save(sd, buf)
    return buf.getvalue()

@pytest.fixture
def server(torch_home, monkeypatch):
    "Serves the fake file under a name carrying its sha256 prefix, as torchvision's files do; records every request."
    data = fake_vgg16_bytes()
    name = f"vgg16-{hashlib.sha256(data).hexdigest()[:8]}.pth"
    srv = types.SimpleNamespace(data=data, name=name, requests=[])
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            srv.requests.append(self.path)
            if self.path != f"/models/{name}": return self.send_error(404)
            self.send_response(200); self.send_header("Content-Length", str(len(srv.data))); self.end_headers()
            self.wfile.write(srv.data)
        def log_message(self, *a): pass
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    srv.url = f"http://127.0.0.1:{httpd.server_port}/models/{name}"
    # torchvision's weights enum gives this URL now; the cache is a fresh folder; fetching is allowed
    monkeypatch.setattr(torchvision.models.VGG16_Weights.IMAGENET1K_V1.value, "url", srv.url)
    monkeypatch.delenv("SCLLE_OFFLINE", raising=False)
    yield srv
    httpd.shutdown(); httpd.server_close()

def test_offline_switch(monkeypatch):
    for v, off in [("", False), ("0", False), ("1", True), ("yes", True)]:
        monkeypatch.setenv("SCLLE_OFFLINE", v); assert V.offline() is off
    monkeypatch.delenv("SCLLE_OFFLINE"); assert not V.offline()

def test_fetch_progress_cache_hash_once(server, capfd):
    f = V.vgg16_features("DEFAULT")
    out, err = capfd.readouterr()
    p = V.vgg16_cache_path()
    assert p.name == server.name and p.parent == Path(os.environ["TORCH_HOME"])/"hub"/"checkpoints"
    assert f'Downloading: "{server.url}"' in out                           # torch.hub's line...
    assert "100%" in err and "B/s" in err                                   # ...and its progress bar, on stderr
    assert p.read_bytes() == server.data and server.requests == [f"/models/{server.name}"]
    assert not list(p.parent.glob("*.partial"))
    assert torch.all(f[0].weight == 0.01) and torch.all(f[28].bias == 0.26)  # the served weights, loaded
    m = V.VGGFeatures(["relu1_2"])                                          # a second use: from the cache
    assert m.pretrained and len(server.requests) == 1
    assert "Downloading" not in capfd.readouterr().out

def test_hash_checked(server, capfd):
    server.data = server.data[:-1] + bytes([server.data[-1] ^ 1])           # one bit flipped in transit
    with pytest.raises(V.WeightsMissing) as e: V.vgg16_features("DEFAULT")
    assert "invalid hash value" in str(e.value) and "\n" not in str(e.value)
    assert not V.vgg16_cache_path().exists() and not list(V.vgg16_cache_path().parent.glob("*"))   # nothing kept

def test_failed_fetch_is_one_line(server, monkeypatch):
    monkeypatch.setattr(torchvision.models.VGG16_Weights.IMAGENET1K_V1.value, "url", server.url.replace("/models/", "/gone/"))
    with pytest.raises(FileNotFoundError) as e: V.VGGFeatures(weights="DEFAULT")
    msg = str(e.value)
    assert "\n" not in msg and "the download failed" in msg and "404" in msg
    assert f"at {V.vgg16_cache_path()}, from {server.url.replace('/models/', '/gone/')}" in msg and "528 MB" in msg

def test_offline_message(server, monkeypatch):
    monkeypatch.setenv("SCLLE_OFFLINE", "1")
    with pytest.raises(V.WeightsMissing) as e: V.vgg16_features("DEFAULT")
    p = V.vgg16_cache_path()
    assert str(e.value) == (f"VGG16 ImageNet weights missing (not in torch's hub cache, and $SCLLE_OFFLINE is set): "
                            f"put {p.name} (528 MB) at {p}, from {server.url}")
    assert server.requests == [] and e.value.path == p and e.value.url == server.url
    V.vgg16_features("DEFAULT", download=True)                              # an explicit download=True still fetches
    assert len(server.requests) == 1

def test_lesson_helper_offline(torch_home):
    "A lesson run offline: random weights, one sentence saying so; the saved lesson outputs are that run's."
    env = dict(os.environ, SCLLE_OFFLINE="1", TORCH_HOME=str(torch_home))
    code = "from sclle_nb.vgg import lesson_vgg; v = lesson_vgg(layers=['relu1_2']); assert v.pretrained is False"
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("\n") == 1 and r.stdout.startswith("VGG16 weights: random (seed 0), because") and "SCLLE_OFFLINE" in r.stdout
    assert r.stderr == ""
    for nb, says in [("08_vgg", "VGG16 weights: random (seed 0)"), ("12_preserve", "VGG16 weights: random (seed 0)"),
                     ("10_deeplab", "DeepLabV3+ weights: random (seed 0)"), ("11_semantic", "DeepLabV3+ weights: random (seed 0)")]:
        cells = json.loads((ROOT/"nbs"/f"{nb}.ipynb").read_text())["cells"]
        text = "".join("".join(o.get("text", "")) for c in cells if c["cell_type"] == "code" for o in c.get("outputs", []))
        assert says in text and "VGG16 weights: ImageNet" not in text, nb

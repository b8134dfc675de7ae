"""Loading a DCE-Net checkpoint refuses bad files with one line naming the file; saving is atomic."""
import os, pickle, signal, subprocess, sys, warnings
import pytest, torch
from PIL import Image
from _procs import foreground
from sclle_nb.dcenet import DCENet, CheckpointError, load_dcenet, save_dcenet, load_checkpoint, init_dcenet

def error(tmp_path, name, data):
    p = tmp_path/name
    p.write_bytes(data) if isinstance(data, bytes) else torch.save(data, p)
    with pytest.raises(CheckpointError) as e: load_dcenet(p)
    msg = str(e.value)
    assert msg.startswith(f"{p}: ") and "\n" not in msg
    return msg.removeprefix(f"{p}: ")

class Evil:
    def __reduce__(self): return (print, ("would have run",))

def test_reexported_from_checkpoint():
    import sclle_nb.checkpoint as C, sclle_nb.dcenet as D
    assert D.CheckpointError is C.CheckpointError and D.load_checkpoint is C.load_checkpoint
    assert not hasattr(D, "tmp_path") and not hasattr(D, "stop_signals_raise")

def test_bad_tensors(tmp_path):
    sd = DCENet().state_dict()
    assert error(tmp_path, "nan.pth", {**sd, "e_conv1.weight": sd["e_conv1.weight"]*float("nan")}) == "e_conv1.weight holds NaN or infinite values"
    assert error(tmp_path, "inf.pth", {**sd, "e_conv6.bias": torch.full((32,), float("inf"))}) == "e_conv6.bias holds NaN or infinite values"
    assert error(tmp_path, "shape.pth", {**sd, "e_conv7.weight": torch.zeros(12, 64, 3, 3)}) == \
        "e_conv7.weight has shape (12, 64, 3, 3), DCE-Net expects (24, 64, 3, 3)"
    assert error(tmp_path, "int.pth", {**sd, "e_conv2.bias": torch.zeros(32, dtype=torch.int32)}) == \
        "e_conv2.bias has dtype torch.int32, DCE-Net expects floating-point values"

def test_unusable_tensors(tmp_path):
    sd = DCENet().state_dict()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert error(tmp_path, "meta.pth", DCENet().to("meta").state_dict()).endswith("is on the meta device (a shape without values): the file holds no weights")
        assert "is a sparse tensor (torch.sparse_coo)" in error(tmp_path, "sparse.pth", {**sd, "e_conv1.bias": sd["e_conv1.bias"].to_sparse()})
        assert "holds complex numbers (torch.complex64)" in error(tmp_path, "cplx.pth", {**sd, "e_conv1.bias": sd["e_conv1.bias"].to(torch.complex64)})

def test_torchscript_refused(tmp_path):
    p = tmp_path/"net.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # TorchScript is deprecated; such files still exist
        torch.jit.save(torch.jit.trace(DCENet().e_conv1, torch.zeros(1, 3, 8, 8)), p)
    with pytest.raises(CheckpointError, match="is a TorchScript archive"): load_dcenet(p)

def test_special_files(tmp_path):
    os.mkfifo(tmp_path/"fifo.pth")      # opening it would block: refused from stat alone
    for p, why in [(tmp_path/"fifo.pth", "is a FIFO (named pipe), not a checkpoint file"),
                   (tmp_path, "is a folder, not a checkpoint file"),
                   ("/dev/zero", "is a character device, not a checkpoint file")]:
        with pytest.raises(CheckpointError) as e: load_dcenet(p)
        assert str(e.value) == f"{p}: {why}"
    (tmp_path/"empty.pth").write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty.pth: checkpoint file is empty"): load_dcenet(tmp_path/"empty.pth")

@pytest.mark.parametrize("data", [bytes(range(256))*16, b"hello", b"PK\x03\x04" + bytes(100), pickle.dumps({"a": 1}, protocol=4)])
def test_not_a_checkpoint(tmp_path, data):
    msg = error(tmp_path, "x.pth", data)
    assert msg.startswith("not a PyTorch checkpoint (") and "Python objects" not in msg

def test_python_objects_refused(tmp_path):
    assert error(tmp_path, "evil.pth", {"e_conv1.weight": Evil()}).startswith("refused: the file holds Python objects")
    assert error(tmp_path, "evil.pkl", pickle.dumps({"e_conv1.weight": Evil()}, protocol=2)).startswith("refused:")

def test_same_as_torch_load(tmp_path):
    net = init_dcenet(DCENet(), seed=2)
    torch.save(net.state_dict(), tmp_path/"a.pth"); save_dcenet(net, tmp_path/"b.pth", step=3)
    for f in ("a.pth", "b.pth"):
        ours, plain = load_checkpoint(tmp_path/f), torch.load(tmp_path/f, map_location="cpu", weights_only=True)
        sd1, sd2 = ours.get("state_dict", ours), plain.get("state_dict", plain)
        assert list(sd1) == list(sd2) and all(torch.equal(sd1[k], sd2[k]) and sd1[k].dtype == sd2[k].dtype for k in sd1)

def test_save_long_name_no_stray_files(tmp_path):
    net = load_dcenet("random", seed=1)
    p = save_dcenet(net, tmp_path/("a"*251 + ".pth"))          # 255 bytes: the temporary name must not grow from it
    assert torch.equal(load_dcenet(p).e_conv1.weight, net.e_conv1.weight)
    assert [f.name for f in tmp_path.iterdir()] == [p.name]

def test_save_keeps_mode(tmp_path):
    p = save_dcenet(DCENet(), tmp_path/"w.pth"); os.chmod(p, 0o600)
    save_dcenet(DCENet(), p)
    assert oct(p.stat().st_mode & 0o777) == oct(0o600)

@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_save_stopped_by_signal_leaves_nothing(tmp_path, sig):
    code = ("import sys, time, torch\nfrom sclle_nb.dcenet import DCENet, save_dcenet\nfrom sclle_nb.safe import exit_status\n"
            "def hang(obj, f): open(f, 'wb').write(b'half'); print('writing', flush=True); time.sleep(60)\n"
            f"torch.save = hang\ntry: save_dcenet(DCENet(), {str(tmp_path/'out.pth')!r})\n"
            "except KeyboardInterrupt as e: sys.exit(exit_status(e))")
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, preexec_fn=foreground)
    assert p.stdout.readline().strip() == "writing"
    p.send_signal(sig); p.wait(60)
    assert p.returncode == 128 + sig
    assert list(tmp_path.iterdir()) == []

def test_enhance_cli_one_line(tmp_path):
    "`sclle enhance --weights BAD`: one line naming the file, exit 2, no traceback or raw warning; the photo untouched."
    Image.new("RGB", (8, 8), (40, 30, 20)).save(tmp_path/"p.png")
    before = (tmp_path/"p.png").read_bytes()
    sd = DCENet().state_dict()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.save(DCENet().to("meta").state_dict(), tmp_path/"meta.pth")
        torch.save({**sd, "e_conv1.bias": sd["e_conv1.bias"].to_sparse()}, tmp_path/"sparse.pth")
        torch.save({**sd, "e_conv1.bias": sd["e_conv1.bias"].to(torch.complex64)}, tmp_path/"cplx.pth")
        torch.jit.save(torch.jit.trace(DCENet().e_conv1, torch.zeros(1, 3, 8, 8)), tmp_path/"ts.pt")
    os.mkfifo(tmp_path/"fifo.pth")
    for w in ["/dev/zero", tmp_path/"fifo.pth", tmp_path, tmp_path/"meta.pth", tmp_path/"sparse.pth", tmp_path/"cplx.pth", tmp_path/"ts.pt"]:
        r = subprocess.run([sys.executable, "-m", "sclle_nb", "enhance", str(tmp_path/"p.png"), "-o", str(tmp_path/"out"),
                            "--weights", str(w)], capture_output=True, text=True, timeout=120)
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2 and len(lines) == 1 and str(w) in lines[0], (w, r.stderr)
        assert "Traceback" not in r.stderr and "Warning" not in r.stderr and "empty" not in r.stderr, r.stderr
    assert (tmp_path/"p.png").read_bytes() == before and not (tmp_path/"out").exists()

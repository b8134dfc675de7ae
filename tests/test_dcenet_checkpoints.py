"""Loading a DCE-Net checkpoint refuses bad files with one line naming the file; saving is atomic."""
import pickle, signal, subprocess, sys
import pytest, torch
from sclle_nb.dcenet import DCENet, CheckpointError, load_dcenet, save_dcenet

def error(tmp_path, name, data):
    p = tmp_path/name
    p.write_bytes(data) if isinstance(data, bytes) else torch.save(data, p)
    with pytest.raises(CheckpointError) as e: load_dcenet(p)
    msg = str(e.value)
    assert msg.startswith(f"{p}: ") and "\n" not in msg
    return msg.removeprefix(f"{p}: ")

class Evil:
    def __reduce__(self): return (print, ("would have run",))

def test_bad_tensors(tmp_path):
    sd = DCENet().state_dict()
    assert error(tmp_path, "nan.pth", {**sd, "e_conv1.weight": sd["e_conv1.weight"]*float("nan")}) == "e_conv1.weight holds NaN or infinite values"
    assert error(tmp_path, "inf.pth", {**sd, "e_conv6.bias": torch.full((32,), float("inf"))}) == "e_conv6.bias holds NaN or infinite values"
    assert error(tmp_path, "shape.pth", {**sd, "e_conv7.weight": torch.zeros(12, 64, 3, 3)}) == \
        "e_conv7.weight has shape (12, 64, 3, 3), DCE-Net expects (24, 64, 3, 3)"

@pytest.mark.parametrize("data", [bytes(range(256))*16, b"hello", b"PK\x03\x04" + bytes(100), pickle.dumps({"a": 1}, protocol=4)])
def test_not_a_checkpoint(tmp_path, data):
    msg = error(tmp_path, "x.pth", data)
    assert msg.startswith("not a PyTorch checkpoint (") and "Python objects" not in msg

def test_python_objects_refused(tmp_path):
    assert error(tmp_path, "evil.pth", {"e_conv1.weight": Evil()}).startswith("refused: the file holds Python objects")
    assert error(tmp_path, "evil.pkl", pickle.dumps({"e_conv1.weight": Evil()}, protocol=2)).startswith("refused:")

def test_save_long_name_no_stray_files(tmp_path):
    net = load_dcenet("random", seed=1)
    p = save_dcenet(net, tmp_path/("a"*251 + ".pth"))          # 255 bytes: the temporary name must not grow from it
    assert torch.equal(load_dcenet(p).e_conv1.weight, net.e_conv1.weight)
    assert [f.name for f in tmp_path.iterdir()] == [p.name]

@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_save_stopped_by_signal_leaves_nothing(tmp_path, sig):
    code = ("import time, sclle_nb.dcenet as D\n"
            "def hang(obj, f): open(f, 'wb').write(b'half'); print('writing', flush=True); time.sleep(60)\n"
            f"D.torch.save = hang\nD.save_dcenet(D.DCENet(), {str(tmp_path/'out.pth')!r})")
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "writing"
    p.send_signal(sig); p.wait(60)
    assert p.returncode == 128 + sig
    assert list(tmp_path.iterdir()) == []

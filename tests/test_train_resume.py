"""Training faults: exact resume, SIGKILL during a checkpoint write, killed runs, corrupt and malicious checkpoints,
unwritable or full output folders, NaN losses found without a host sync per step. Tiny: 32-pixel crops, a few steps, CPU."""
import os, sys, time, shutil, signal, pickle, subprocess, textwrap
from pathlib import Path
import pytest, torch
from sclle_nb import train as T
from sclle_nb.dcenet import CheckpointError
from sclle_nb.defaults import ZeroRefLoss, DarkPhotos
from sclle_nb.train_cli import train_cli

torch.set_num_threads(1)   # tiny tensors: threads only add overhead on a shared CPU

TINY = dict(crop=32, batch=2, lr=1e-3, log_every=1, progress=False, seed=5)

def trainer(out, steps, **kw):
    cfg = T.TrainConfig(out=str(out), steps=steps, **(TINY | kw))
    return T.Trainer(cfg, criterion=ZeroRefLoss(patch=8), data=(DarkPhotos(crop=32, n=6, names=("coffee", "chelsea")), None))

def same_state(a, b):
    for (k, v), w in zip(a.model.state_dict().items(), b.model.state_dict().values()): assert torch.equal(v, w), k
    for s, t in zip(a.opt.state_dict()["state"].values(), b.opt.state_dict()["state"].values()):
        for k in s: assert torch.equal(s[k], t[k]), k

def test_resume_is_exact(tmp_path):
    a = trainer(tmp_path/"a", 8, ckpt_every=4); a.fit()          # crosses an epoch boundary (3 steps per epoch)
    b = trainer(tmp_path/"b", 4, ckpt_every=4); b.fit()
    c = trainer(tmp_path/"b", 8, ckpt_every=4, resume="auto")
    assert c.step == 4
    c.fit()
    same_state(a, c)
    assert [r["step"] for r in T.read_log(tmp_path/"b"/"log.csv")] == list(range(1, 9))
    assert torch.load(tmp_path/"b"/"checkpoint.pt", weights_only=True)["step"] == 8

SCRIPT = textwrap.dedent('''
    import sys, time, torch
    torch.set_num_threads(1)
    from pathlib import Path
    sys.path.insert(0, {root!r})
    from sclle_nb import train as T
    from sclle_nb.defaults import ZeroRefLoss, DarkPhotos
    out = Path(sys.argv[1]); n = [0]
    def hook(tmp, path):                 # the second save stalls between write and rename
        n[0] += 1
        if n[0] == 2: (out/"IN_SAVE").write_text(str(tmp)); time.sleep(120)
    T._BEFORE_REPLACE = hook
    cfg = T.TrainConfig(out=str(out), steps=50, ckpt_every=2, crop=32, batch=2, lr=1e-3, log_every=1, progress=False, seed=5)
    T.Trainer(cfg, criterion=ZeroRefLoss(patch=8), data=(DarkPhotos(crop=32, n=6, names=("coffee", "chelsea")), None)).fit()
''')

def test_sigkill_during_checkpoint_write_then_resume(tmp_path):
    out = tmp_path/"run"; out.mkdir()
    (tmp_path/"s.py").write_text(SCRIPT.format(root=str(Path(T.__file__).parents[1])))
    p = subprocess.Popen([sys.executable, str(tmp_path/"s.py"), str(out)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        t0 = time.time()
        while not (out/"IN_SAVE").exists():
            assert p.poll() is None, p.stdout.read().decode()[-2000:]
            assert time.time() - t0 < 120, "the run never reached its second checkpoint"
            time.sleep(0.2)
        p.send_signal(signal.SIGKILL); p.wait(30)
    finally:
        if p.poll() is None: p.kill()
    tmp = Path((out/"IN_SAVE").read_text())
    assert tmp.exists() and tmp.stat().st_size > 0              # the new checkpoint was written, never renamed
    ck = torch.load(out/"checkpoint.pt", weights_only=True)      # the previous one is whole
    assert ck["step"] == 2
    rows = T.read_log(out/"log.csv"); assert rows[-1]["step"] == 4  # the killed run logged past its checkpoint
    r = trainer(out, 6, ckpt_every=2, resume="auto")              # a killed run resumes ...
    assert r.step == 2 and not tmp.exists()                       # ... and the stray temporary file is gone
    r.fit()
    a = trainer(tmp_path/"ref", 6, ckpt_every=2); a.fit()
    same_state(a, r)                                              # ... exactly where it stopped
    assert [x["step"] for x in T.read_log(out/"log.csv")] == list(range(1, 7))

def test_corrupt_checkpoint_names_the_file(tmp_path):
    a = trainer(tmp_path/"a", 2, ckpt_every=2); a.fit()
    ck = tmp_path/"a"/"checkpoint.pt"
    ck.write_bytes(ck.read_bytes()[:1000])                        # truncated
    with pytest.raises(CheckpointError, match="checkpoint.pt"): trainer(tmp_path/"a", 4, resume=str(ck))
    ck.write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty"): trainer(tmp_path/"a", 4, resume=str(ck))
    torch.save({"format": "sclle_nb.dcenet", "state_dict": a.model.state_dict()}, tmp_path/"w.pth")
    with pytest.raises(CheckpointError, match="not a training checkpoint"): trainer(tmp_path/"a", 4, resume=str(tmp_path/"w.pth"))
    with pytest.raises(FileNotFoundError, match="missing.pt"): trainer(tmp_path/"a", 4, resume=str(tmp_path/"missing.pt"))

class Evil:
    def __reduce__(self): return (os.system, (f"touch {MARK}",))
MARK = None

def test_malicious_pickle_refused(tmp_path):
    global MARK
    MARK = tmp_path/"PWNED"
    a = trainer(tmp_path/"a", 1); a.fit()
    sd = a.state_dict(); sd["evil"] = Evil()
    torch.save(sd, tmp_path/"evil.pt")
    with pytest.raises(CheckpointError, match="refused"): trainer(tmp_path/"b", 2, resume=str(tmp_path/"evil.pt"))
    assert not MARK.exists()

def test_unwritable_or_full_output_fails_before_training(tmp_path, monkeypatch):
    (tmp_path/"file").write_text("x")
    with pytest.raises(T.OutputDirError, match="cannot create the output folder"): trainer(tmp_path/"file"/"run", 2)
    if os.geteuid() != 0:                                         # root ignores permission bits
        ro = tmp_path/"ro"; ro.mkdir(); ro.chmod(0o500)
        with pytest.raises(T.OutputDirError, match="not writable"): trainer(ro, 2)
    monkeypatch.setattr(shutil, "disk_usage", lambda p: type("U", (), {"free": 1 << 20})())
    with pytest.raises(T.OutputDirError, match="MiB free"): trainer(tmp_path/"full", 2)
    rc = train_cli(["--out", str(tmp_path/"file"/"run"), "--steps", "1"])
    assert rc == 1

def test_disk_full_during_save_keeps_previous(tmp_path, monkeypatch):
    a = trainer(tmp_path/"a", 2, ckpt_every=2); a.fit()
    before = (tmp_path/"a"/"checkpoint.pt").read_bytes()
    def full(obj, f): f.write(b"partial"); raise OSError(28, "No space left on device")
    monkeypatch.setattr(T.torch, "save", full)
    with pytest.raises(OSError, match="No space left on device.*previous one is kept"): a.save()
    assert (tmp_path/"a"/"checkpoint.pt").read_bytes() == before
    assert sorted(p.name for p in (tmp_path/"a").iterdir()) == ["checkpoint.pt", "dcenet.pth", "log.csv"]

def test_nan_loss_stops_and_keeps_last_good(tmp_path):
    class Bad(ZeroRefLoss):
        n = 0
        def forward(self, **kw):
            self.n += 1; d = super().forward(**kw)
            if self.n == 3: d["total"] = d["total"] + float("inf")
            return d
    cfg = T.TrainConfig(out=str(tmp_path/"n"), steps=5, ckpt_every=2, **TINY)
    t = T.Trainer(cfg, criterion=Bad(patch=8), data=(DarkPhotos(crop=32, n=6, names=("coffee",)), None))
    w = {k: v.clone() for k, v in t.model.state_dict().items()}
    with pytest.raises(T.TrainingError, match=r"NaN/Inf at step 3 .*total=inf.*\(step 2\)"): t.fit()
    assert torch.load(tmp_path/"n"/"checkpoint.pt", weights_only=True)["step"] == 2

def test_config_errors(tmp_path):
    p = tmp_path/"c.toml"; p.write_text("steps = 'many'\n")
    with pytest.raises(ValueError, match="steps"): T.TrainConfig.from_file(p)
    p.write_text("steps = \n")
    with pytest.raises(ValueError, match="c.toml: cannot parse"): T.TrainConfig.from_file(p)
    p.write_text("stepz = 3\n")
    with pytest.raises(ValueError, match="stepz"): T.TrainConfig.from_file(p)
    with pytest.raises(FileNotFoundError): T.TrainConfig.from_file(tmp_path/"none.toml")
    assert train_cli(["--config", str(p)]) == 1

def test_log_with_a_cut_short_line_resumes(tmp_path):
    a = trainer(tmp_path/"a", 2, ckpt_every=2); a.fit()
    with open(tmp_path/"a"/"log.csv", "a") as f: f.write("3,0.5,0.01")             # a kill in the middle of a row
    b = trainer(tmp_path/"a", 3, ckpt_every=2, resume="auto"); b.fit()
    assert [r["step"] for r in T.read_log(tmp_path/"a"/"log.csv")] == [1, 2, 3]

def test_nan_found_in_a_window_keeps_last_good(tmp_path):
    "Losses are read back every log_every steps: a NaN at step 6 is found at step 8, the checkpoint at 4 is kept."
    class Bad(ZeroRefLoss):
        n = 0
        def forward(self, **kw):
            self.n += 1; d = super().forward(**kw)
            if self.n == 6: d["exp"] = d["exp"]*float("nan"); d["total"] = d["total"] + d["exp"]
            return d
    cfg = T.TrainConfig(out=str(tmp_path/"n"), steps=12, **(TINY | dict(ckpt_every=4, log_every=4)))
    t = T.Trainer(cfg, criterion=Bad(patch=8), data=(DarkPhotos(crop=32, n=6, names=("coffee",)), None))
    with pytest.raises(T.TrainingError, match=r"NaN/Inf at steps 5-8 .*exp=nan.*\(step 4\)"): t.fit()
    assert t.step == 8 and torch.load(tmp_path/"n"/"checkpoint.pt", weights_only=True)["step"] == 4
    assert [r["step"] for r in T.read_log(tmp_path/"n"/"log.csv")] == [4]

def test_losses_read_back_only_at_log_and_checkpoint_steps(tmp_path, monkeypatch):
    "The hot loop keeps the losses on the device: one read-back per log row and one before each checkpoint."
    reads, orig = [], T.Trainer._read_window
    def counted(self): reads.append(self.step); return orig(self)
    monkeypatch.setattr(T.Trainer, "_read_window", counted)
    a = trainer(tmp_path/"a", 9, ckpt_every=6, log_every=3)
    assert isinstance(a.train_step(next(a.batches())), torch.Tensor)   # a step returns a tensor, not Python numbers
    a = trainer(tmp_path/"b", 9, ckpt_every=6, log_every=3); a.fit()
    assert reads == [3, 6, 6, 9]                                       # log rows at 3, 6, 9; the checkpoint at 6

def test_long_output_names(tmp_path):
    "Temporary files have short fixed-length names: a destination name near the 255-byte limit works."
    p = tmp_path/("c"*250 + ".pt")
    T.atomic_save({"x": torch.ones(1)}, p)
    assert torch.load(p, weights_only=True)["x"].item() == 1 and [q.name for q in tmp_path.iterdir()] == [p.name]

def test_int_indexed_data_replays_through_seeded(tmp_path):
    "An integer-indexed data set drawing from the global generators replays exactly when wrapped in `Seeded`."
    ds = T.Seeded(DarkPhotos(crop=32, n=4, names=("coffee",)))
    assert torch.equal(ds[(1, 7)]["low"], ds[(1, 7)]["low"]) and not torch.equal(ds[(1, 7)]["low"], ds[(1, 8)]["low"])

@pytest.mark.parametrize("where", ["train", "durable"])
def test_fault_hook_reaches_the_trainer(tmp_path, monkeypatch, where):
    "The fault hook can be set on either module; a save that fails in it keeps the previous checkpoint, no temporary file."
    from sclle_nb import durable
    a = trainer(tmp_path/"a", 2, ckpt_every=2); a.fit()
    before = (tmp_path/"a"/"checkpoint.pt").read_bytes()
    def fail(tmp, path): assert tmp.exists(); raise OSError(5, "Input/output error")
    monkeypatch.setattr(T if where == "train" else durable, "_BEFORE_REPLACE", fail)
    with pytest.raises(OSError, match="Input/output error.*previous one is kept"): a.save()
    assert (tmp_path/"a"/"checkpoint.pt").read_bytes() == before and not list((tmp_path/"a").glob(".sclle-*"))

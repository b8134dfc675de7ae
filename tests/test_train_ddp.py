"""DDP: two CPU processes under torchrun (gloo) train a few tiny steps; weights stay identical across ranks, only
rank 0 writes the checkpoint and the log, and a DDP run resumes from its checkpoint."""
import os, sys, socket, subprocess, textwrap, json
from pathlib import Path
import pytest, torch

SCRIPT = textwrap.dedent('''
    import sys, json, torch
    torch.set_num_threads(1)
    from pathlib import Path
    sys.path.insert(0, {root!r})
    import torch.distributed as dist
    from sclle_nb import train as T
    from sclle_nb.defaults import ZeroRefLoss, DarkPhotos
    out, steps = Path(sys.argv[1]), int(sys.argv[2])
    cfg = T.TrainConfig(out=str(out), steps=steps, ckpt_every=2, crop=32, batch=2, lr=1e-3, log_every=1, progress=False,
                        seed=3, resume="auto")
    t = T.Trainer(cfg, criterion=ZeroRefLoss(patch=8), data=(DarkPhotos(crop=32, n=8, names=("coffee", "chelsea")), None))
    start = t.step
    first = next(t.batches())["low"]
    t.fit()
    torch.save({{k: v for k, v in t.model.state_dict().items()}}, out/f"rank{{t.rank}}.pt")
    (out/f"rank{{t.rank}}.json").write_text(json.dumps(dict(rank=t.rank, world=t.world, saves=t.saves, start=start,
                                                         backend=dist.get_backend(), first=first.sum().item())))
    t.close()
''')

def free_port():
    with socket.socket() as s: s.bind(("127.0.0.1", 0)); return s.getsockname()[1]

def torchrun(tmp_path, out, steps):
    script = tmp_path/"ddp.py"
    script.write_text(SCRIPT.format(root=str(Path(__file__).resolve().parents[1])))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes=1", "--nproc_per_node=2", "--master_addr=127.0.0.1",
           f"--master_port={free_port()}", str(script), str(out), str(steps)]
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    return [json.loads((out/f"rank{i}.json").read_text()) for i in (0, 1)]

def same(a, b): return all(torch.equal(v, b[k]) for k, v in a.items())

def test_ddp_two_cpu_processes(tmp_path):
    out = tmp_path/"run"
    info = torchrun(tmp_path, out, 4)
    assert [i["backend"] for i in info] == ["gloo", "gloo"] and [i["world"] for i in info] == [2, 2]
    assert info[0]["first"] != info[1]["first"]                       # each process sees its own shard
    assert [i["saves"] for i in info] == [2, 0]                       # checkpoints at steps 2 and 4, by rank 0 only
    w0, w1 = (torch.load(out/f"rank{i}.pt", weights_only=True) for i in (0, 1))
    assert same(w0, w1)                                               # identical weights on both ranks
    ck = torch.load(out/"checkpoint.pt", weights_only=True)
    assert ck["step"] == 4 and ck["world_size"] == 2 and len(ck["rng"]) == 2
    assert same(ck["model"], w0)
    assert [l.split(",")[0] for l in (out/"log.csv").read_text().splitlines()[1:]] == ["1", "2", "3", "4"]   # logged once
    assert not list(out.glob(".sclle-*"))
    info = torchrun(tmp_path, out, 6)                                 # resume under DDP
    assert [i["start"] for i in info] == [4, 4]
    w0, w1 = (torch.load(out/f"rank{i}.pt", weights_only=True) for i in (0, 1))
    assert same(w0, w1) and torch.load(out/"checkpoint.pt", weights_only=True)["step"] == 6

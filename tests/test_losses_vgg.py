"""VGGFeatures (one pass, truncation, frozen, weights from the cache) and gram_matrix; the fetch itself: test_weights_fetch.py."""
import types, pytest, torch
import torch.nn as nn
import torchvision
from sclle_nb import vgg as V
from sclle_nb.vgg import VGGFeatures, gram_matrix, gram_dict, LAYERS, vgg16_features, vgg16_cache_path

@pytest.fixture(scope="module")
def feats(): return vgg16_features(None, seed=0)

def test_layer_map_matches_torchvision(feats):
    assert [LAYERS[k] for k in ("relu1_2", "relu2_2", "relu3_3", "relu4_3")] == [3, 8, 15, 22]
    for name, i in LAYERS.items():
        assert isinstance(feats[i], nn.ReLU) and isinstance(feats[i-1], nn.Conv2d)
        assert feats[i-1].out_channels == {1: 64, 2: 128, 3: 256, 4: 512, 5: 512}[int(name[4])]

def test_one_pass_and_truncation(feats):
    m = VGGFeatures(["relu2_2", "relu1_2", "relu3_3"], vgg=feats)
    assert len(m.features) == LAYERS["relu3_3"] + 1
    calls = {}
    hooks = [mod.register_forward_hook(lambda mod, i, o, k=k: calls.__setitem__(k, calls.get(k, 0) + 1))
             for k, mod in enumerate(m.features)]
    out = m(torch.rand(2, 3, 32, 32))
    for h in hooks: h.remove()
    assert calls == {k: 1 for k in range(len(m.features))}     # every module exactly once: one forward pass
    assert list(out) == ["relu2_2", "relu1_2", "relu3_3"]        # in the order asked for
    assert out["relu3_3"].shape == (2, 256, 8, 8)

def test_matches_slicing(feats):
    x = torch.rand(1, 3, 24, 24)
    m = VGGFeatures(["relu1_2", "relu2_2", "relu4_3"], normalize=False, vgg=feats)
    ref = feats.eval()
    out = m(x)
    torch.testing.assert_close(out["relu1_2"], ref[0:4](x))
    torch.testing.assert_close(out["relu2_2"], ref[4:9](ref[0:4](x)))
    torch.testing.assert_close(out["relu4_3"], ref[0:23](x), rtol=1e-4, atol=1e-6)
    mn = VGGFeatures(["relu1_2"], normalize=True, vgg=feats)
    mean, std = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    torch.testing.assert_close(mn(x)["relu1_2"], ref[0:4]((x - mean)/std))

def test_frozen(feats):
    m = VGGFeatures(vgg=feats)
    assert not any(p.requires_grad for p in m.parameters())
    parent = nn.ModuleDict({"vgg": m}); parent.train()
    assert not m.training and not any(mod.training for mod in m.modules())
    x = torch.rand(1, 3, 16, 16, requires_grad=True)
    sum(f.sum() for f in m(x).values()).backward()
    assert x.grad is not None and all(p.grad is None for p in m.parameters())

def test_shares_given_instance():
    net = types.SimpleNamespace(features=vgg16_features(None, seed=3))
    m = VGGFeatures(["relu1_2"], vgg=net)
    assert m.features[0].weight is net.features[0].weight
    with pytest.raises(ValueError, match="torchvision VGG16"): VGGFeatures(vgg=nn.Sequential(nn.Conv2d(3, 3, 3)))

def test_random_weights_seeded():
    a, b = VGGFeatures(["relu1_1"], weights=None, seed=5), VGGFeatures(["relu1_1"], weights="random", seed=5)
    assert torch.equal(a.features[0].weight, b.features[0].weight)
    state = torch.random.get_rng_state()
    VGGFeatures(["relu1_1"], weights=None, seed=6)
    assert torch.equal(state, torch.random.get_rng_state())      # the global RNG is left alone

def test_offline_error_names_the_cache(torch_home, monkeypatch):
    "Offline (or download=False) with an empty cache: WeightsMissing, one line, and nothing tried the network."
    def no_network(*a, **k): raise AssertionError("tried to download")
    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    expect = torch_home/"hub"/"checkpoints"/"vgg16-397923af.pth"
    assert vgg16_cache_path() == expect
    for w in ("DEFAULT", "IMAGENET1K_V1"):
        with pytest.raises(FileNotFoundError) as e: VGGFeatures(weights=w)     # conftest sets SCLLE_OFFLINE
        assert isinstance(e.value, V.WeightsMissing) and f"at {expect}," in str(e.value) and "\n" not in str(e.value)
    monkeypatch.delenv("SCLLE_OFFLINE")
    with pytest.raises(V.WeightsMissing, match="download=False"): VGGFeatures(weights="DEFAULT", download=False)
    with pytest.raises(ValueError, match="weights must be"): VGGFeatures(weights="imagenet")

def test_cached_weights_go_through_torchvision(torch_home, monkeypatch):
    "With the file in the cache, loading reads it through the weights enum's get_state_dict, hash-checked, weights only."
    p = vgg16_cache_path(); p.parent.mkdir(parents=True)
    torch.save({"features." + k: v for k, v in vgg16_features(None, seed=1).state_dict().items()}, p)
    seen = {}
    real = torchvision.models.VGG16_Weights.get_state_dict
    def spy(self, *a, **kw): seen.update(kw, self=self); return real(self, *a, **kw)
    monkeypatch.setattr(torchvision.models.VGG16_Weights, "get_state_dict", spy)
    m = VGGFeatures(["relu1_2"])
    assert seen["self"] is torchvision.models.VGG16_Weights.IMAGENET1K_V1 and seen["weights_only"] and seen["check_hash"]
    assert torch.equal(m.features[0].weight, vgg16_features(None, seed=1)[0].weight) and m.pretrained

def test_channels_last(feats):
    x = torch.rand(1, 3, 20, 20)
    a = VGGFeatures(["relu2_2"], vgg=feats)(x)["relu2_2"]
    b = VGGFeatures(["relu2_2"], vgg=feats, channels_last=True)(x)["relu2_2"]
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)

def gram_naive(f):
    B, C, H, W = f.shape
    G = torch.zeros(B, C, C, dtype=f.dtype)
    for b in range(B):
        for i in range(C):
            for j in range(C): G[b, i, j] = (f[b, i]*f[b, j]).sum()
    return G/(C*H*W)

def test_gram():
    f = torch.randn(3, 7, 5, 6, dtype=torch.float64)
    G = gram_matrix(f)
    torch.testing.assert_close(G, gram_naive(f))
    torch.testing.assert_close(G, G.transpose(1, 2))
    assert (torch.linalg.eigvalsh(G) >= -1e-12).all()
    torch.testing.assert_close(gram_matrix(f.repeat(1, 1, 3, 2)), G)   # C*H*W normalisation: size-independent
    assert torch.autograd.gradcheck(gram_matrix, (torch.randn(1, 3, 2, 3, dtype=torch.float64, requires_grad=True),))
    d = gram_dict({"relu1_2": f, "relu2_2": f[:, :3]})
    assert list(d) == ["relu1_2", "relu2_2"] and d["relu2_2"].shape == (3, 3, 3)
    with pytest.raises(ValueError, match="B,C,H,W"): gram_matrix(torch.rand(2, 3, 4))

def test_public_names():
    import sclle_nb
    assert sclle_nb.gram_matrix is gram_matrix and sclle_nb.VGGFeatures is VGGFeatures

def test_gram_fp16():
    "Under fp16 the sums over positions overflow 65,504: gram_matrix computes them in fp32; bf16 keeps its own dtype."
    f = torch.rand(1, 8, 384, 384)*3
    F16 = f.half().reshape(1, 8, -1)
    assert torch.isinf(torch.bmm(F16.float(), F16.float().transpose(1, 2)).half()).any()   # the naive fp16 product overflows
    torch.testing.assert_close(gram_matrix(f.half()).float(), gram_matrix(f), rtol=1e-3, atol=1e-3)
    with torch.autocast("cpu", dtype=torch.float16): assert torch.isfinite(gram_matrix(f)).all()
    with torch.autocast("cpu", dtype=torch.bfloat16): assert gram_matrix(f).dtype == torch.bfloat16

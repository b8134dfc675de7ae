"""DCE-Net reproduces the authors' released checkpoints (reference outputs made with their own code)."""
import numpy as np, pytest, torch
from sclle_nb import load_dcenet

@pytest.mark.parametrize("ckpt,tag", [("SCL-LLE.pth", "scl"), ("Zero-DCE_Epoch99.pth", "zdce")])
@pytest.mark.parametrize("k", [1, 2, 3])
def test_authors_checkpoint_outputs(shared, ckpt, tag, k):
    net = load_dcenet(shared/"weights"/ckpt)
    inp = np.load(shared/"vectors"/f"LIME_{k}_input_uint8_hwc.npy")
    ref = torch.from_numpy(np.load(shared/"vectors"/f"LIME_{k}_{tag}_enhanced.npy"))
    x = torch.from_numpy(inp).permute(2, 0, 1)[None].float()/255
    with torch.no_grad(): y = net(x).enhanced
    assert y.shape == ref.shape
    assert (y - ref).abs().max().item() < 1e-5

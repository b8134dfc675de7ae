"""The fast paths of sclle_nb.loading (threads, decode-once caches) return exactly what the plain sequential ones do."""
import warnings
import numpy as np, pytest, torch
from PIL import Image
from sclle_nb.loading import decode_all, DecodeOnce, within_budget, keep_warnings, EpochSampler
from sclle_nb.data import ContrastPool, ImageFolderDataset, read_rgb8, EpochSampler as DataEpochSampler, list_images

@pytest.fixture
def photos(tmp_path):
    rng = np.random.default_rng(0)
    for kind in ("normal", "under", "over"):
        (tmp_path/kind).mkdir()
        for j in range(5): Image.fromarray(rng.integers(0, 256, (60 + j, 80, 3), np.uint8)).save(tmp_path/kind/f"{j}.jpg")
    return tmp_path

def test_decode_all_equals_sequential(photos):
    files = list_images(photos/"normal")
    for a, b in zip(decode_all(read_rgb8, files, threads=4), [read_rgb8(f) for f in files]): assert np.array_equal(a, b)

def test_threads_leave_warning_filters(photos):
    before = list(warnings.filters)
    def noisy(f):
        with warnings.catch_warnings(): warnings.simplefilter("ignore"); return read_rgb8(f)
    decode_all(noisy, list_images(photos/"normal") * 8, threads=8)
    assert warnings.filters == before

def test_pool_threads_cache_plain_equal(photos):
    pools = [ContrastPool.from_root(photos, size=32, threads=4), ContrastPool.from_root(photos, size=32, threads=1),
             ContrastPool.from_root(photos, size=32, cache=False)]
    assert [p.cached for p in pools] == [True, True, False]
    for s in range(5):
        d = [p.draw(2, torch.Generator().manual_seed(s)) for p in pools]
        for x in d[1:]: assert torch.equal(x["positives"], d[0]["positives"]) and torch.equal(x["negatives"], d[0]["negatives"])

def test_folder_dataset_cache_equal(photos):
    a, b = ImageFolderDataset(photos/"under", crop=32, cache=True), ImageFolderDataset(photos/"under", crop=32, cache=False)
    assert a._img.cached and not b._img.cached
    for key in [(0, 1), (4, 2)]: assert torch.equal(a[key]["low"], b[key]["low"])

def test_budget_and_names():
    assert within_budget(2**20, True, 1) and not within_budget(2**20 + 1, True, 1) and not within_budget(1, False, 1)
    assert DataEpochSampler is EpochSampler
    c = DecodeOnce([1, 2], lambda x: x * 10, nbytes=10**12)
    assert not c.cached and c(1) == 20

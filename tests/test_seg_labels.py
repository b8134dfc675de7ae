"Cityscapes label table, colours and mIoU against hand-computed cases."
import numpy as np
import pytest
import torch
from sclle_nb.cityscapes import (CITYSCAPES_CLASSES, IGNORE, LABELS, PALETTE, ID_TO_TRAIN, label_to_train,
                                  colorize, overlay, ConfusionMatrix, miou)

def test_table():
    assert len(CITYSCAPES_CLASSES) == 19 and IGNORE == 255
    assert [l.id for l in LABELS[:34]] == list(range(34))
    for lid, tid, name in [(7, 0, "road"), (8, 1, "sidewalk"), (11, 2, "building"), (21, 8, "vegetation"), (23, 10, "sky"),
                           (24, 11, "person"), (25, 12, "rider"), (26, 13, "car"), (31, 16, "train"), (33, 18, "bicycle")]:
        assert ID_TO_TRAIN[lid] == tid and CITYSCAPES_CLASSES[tid] == name
    for lid in [0, 1, 2, 3, 4, 5, 6, 9, 10, 14, 15, 16, 18, 29, 30]: assert ID_TO_TRAIN[lid] == 255

def test_label_to_train_kinds():
    ids = np.array([[7, 23, -1], [26, 255, 40]])
    want = np.array([[0, 10, 255], [13, 255, 255]], dtype=np.uint8)
    np.testing.assert_array_equal(label_to_train(ids), want)
    np.testing.assert_array_equal(label_to_train(torch.from_numpy(ids)).numpy(), want)
    np.testing.assert_array_equal(label_to_train(ids.astype(np.uint8)[:, :2]), want[:, :2])
    with pytest.raises(ValueError, match="integer"): label_to_train(torch.rand(2, 2))

def test_colours():
    np.testing.assert_array_equal(colorize(np.array([[0, 10, 13, 255]]))[0], [[128, 64, 128], [70, 130, 180], [0, 0, 142], [0, 0, 0]])
    assert PALETTE.shape == (256, 3)
    ov = overlay(torch.zeros(3, 1, 2), torch.tensor([[10, 255]]), alpha=1.)
    np.testing.assert_allclose(ov[0, 0], np.array([70, 130, 180])/255, rtol=1e-6)
    np.testing.assert_allclose(ov[0, 1], 0)

def test_miou_hand():
    cm = ConfusionMatrix(3).update(torch.tensor([[0, 1, 1, 1]]), torch.tensor([[0, 0, 1, 1]]))
    np.testing.assert_allclose(cm.iou()[:2].numpy(), [1/2, 2/3])
    assert torch.isnan(cm.iou()[2])
    assert cm.miou() == pytest.approx(7/12)
    # 3-class case by hand: gt [0,0,0,1,1,2,255], pred [0,0,1,1,2,2,0]
    gt, pr = torch.tensor([0, 0, 0, 1, 1, 2, 255]), torch.tensor([0, 0, 1, 1, 2, 2, 0])
    # class 0: TP 2, FN 1, FP 0 -> 2/3; class 1: TP 1, FN 1, FP 1 -> 1/3; class 2: TP 1, FP 1 -> 1/2
    assert miou(pr, gt, num_classes=3) == pytest.approx((2/3 + 1/3 + 1/2)/3)

def test_miou_streaming_equals_pooled():
    g = torch.Generator().manual_seed(0)
    gt = torch.randint(0, 19, (4, 16, 16), generator=g); gt[:, :3] = 255
    pr = torch.randint(0, 19, (4, 16, 16), generator=g)
    cm = ConfusionMatrix()
    for k in range(4): cm.update(pr[k:k+1], gt[k:k+1])
    assert cm.miou() == pytest.approx(miou(pr, gt))
    # brute-force IoU per class
    keep = gt != 255
    ious = []
    for c in range(19):
        inter = ((pr == c) & (gt == c) & keep).sum().item(); union = (((pr == c) | (gt == c)) & keep).sum().item()
        if union: ious.append(inter/union)
    assert cm.miou() == pytest.approx(np.mean(ious))

def test_miou_errors():
    with pytest.raises(ValueError, match="differ in shape"): miou(torch.zeros(2, 2, dtype=torch.long), torch.zeros(3, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="outside"): miou(torch.tensor([0, 0]), torch.tensor([0, 19]))
    with pytest.raises(ValueError, match="outside"): miou(torch.tensor([0, 25]), torch.tensor([0, 1]))

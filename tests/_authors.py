"""The authors' training objective written out as in their Myloss.py / train.py (SPEC appendix), for conformance tests."""
import torch
import torch.nn.functional as F

def a_tv(A):
    B, _, H, W = A.shape
    h_tv = torch.pow(A[:, :, 1:, :] - A[:, :, :H-1, :], 2).sum()
    w_tv = torch.pow(A[:, :, :, 1:] - A[:, :, :, :W-1], 2).sum()
    return 200 * 2 * (h_tv/((H-1)*W) + w_tv/(H*(W-1))) / B

def a_col(Y):
    mean_rgb = torch.mean(Y, [2, 3], keepdim=True)
    mr, mg, mb = torch.split(mean_rgb, 1, dim=1)
    Drg, Drb, Dgb = torch.pow(mr-mg, 2), torch.pow(mr-mb, 2), torch.pow(mb-mg, 2)
    k = torch.pow(torch.pow(Drg, 2) + torch.pow(Drb, 2) + torch.pow(Dgb, 2), 0.5)
    return 8 * torch.mean(k)

def a_segexp(Y, labels):
    x = torch.mean(Y, 1, keepdim=True)                       # (B,1,H,W)
    total = 0
    for i in range(35):
        a2 = torch.where(labels == i, x, torch.zeros_like(labels, dtype=x.dtype))  # broadcasts to (B,B,H,W)
        d2 = torch.mean(a2).detach()
        a2 = torch.where(a2 == 0, d2, a2)
        total = total + torch.mean(torch.pow(a2 - d2, 2))
    return total

def a_gram(f):
    b, c, h, w = f.shape
    f = f.view(b, c, h*w)
    return torch.bmm(f, f.transpose(1, 2)) / (c*h*w)

def a_cont(Y, P, N, vgg):
    g = lambda t: torch.mean(t, 1, keepdim=True)
    l1 = lambda a, b: torch.mean(torch.abs(g(a) - g(b)))
    cont = 10 * torch.clamp(l1(Y, P) - l1(Y, N) + 0.3, min=0)
    def S(x, y):
        s = 0
        for sl in (slice(0, 4), slice(4, 9)):
            x = vgg[sl](x); y = vgg[sl](y)
            s = s + torch.sum(torch.pow(a_gram(y) - a_gram(x), 2))
        return s
    cont2 = 5 * torch.clamp(S(Y, P) - S(Y, N) + 0.04, min=0)
    return cont, cont2

def a_percept(I, Y, vgg):
    return F.mse_loss(vgg[0:23](I), vgg[0:23](Y))

def a_seg(seg_net, Y, labels):
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1); std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    out = seg_net((Y.detach() - mean)/std)
    out = F.interpolate(out, size=Y.shape[-2:], mode="bilinear", align_corners=False) if out.shape[-2:] != Y.shape[-2:] else out
    return F.cross_entropy(out, labels, ignore_index=255)


"""sclle_nb: SCL-LLE low-light enhancement, lesson by lesson."""
__version__ = "0.1.0"

# Public names, imported on first use (never a name that is also a submodule: `import sclle_nb.x` would shadow it;
# `niqe` is the exception, its module is callable) so that `import sclle_nb` (and the `sclle` command) stay fast.
_LAZY = {
    "le_curve": "curves", "apply_curves": "curves",
    "DCENet": "dcenet", "load_dcenet": "dcenet", "save_dcenet": "dcenet",
    "enhance": "enhancer", "read_image": "enhancer", "save_image": "enhancer", "load_rgb": "enhancer",
    "ImageError": "enhancer", "enhance_file": "enhancer",
    "expose": "exposure",
    "DataConfig": "data", "get_dataloaders": "data", "ContrastPool": "data", "street_scene": "data",
    "gram_matrix": "vgg", "VGGFeatures": "vgg", "lesson_vgg": "vgg", "WeightsMissing": "vgg",
    "contrastive_loss": "contrastive",
    "semantic_brightness_loss": "semantic",
    "SCLLELoss": "objective",
    "DeepLabV3Plus": "deeplab", "load_deeplab": "deeplab", "deeplab_checkpoint": "deeplab", "lesson_deeplab": "deeplab",
    "miou": "cityscapes", "CITYSCAPES_CLASSES": "cityscapes",
    "niqe": "niqe", "psnr": "evaluate", "ssim": "evaluate",
    "TrainConfig": "train", "Trainer": "train",
}
__all__ = list(_LAZY)

def __getattr__(name):
    if name in _LAZY:
        import importlib
        val = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = val
        return val
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

def __dir__(): return sorted(list(globals()) + __all__)

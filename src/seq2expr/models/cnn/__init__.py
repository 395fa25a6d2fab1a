"""A one-hot promoter CNN trained from scratch: the rung between sequence composition and a gLM.

- `options`: `CnnConfig` (architecture sizes) and `CnnOptions` (training knobs), without torch.
- `model`: `PromoterCnn`, base encoding, `save_cnn` / `load_cnn` for its folder.
- `training`: `train_cnn`, the training loop with early stopping on val.

Nothing is imported here, so that a command's `--help` can read the defaults without loading torch.
"""

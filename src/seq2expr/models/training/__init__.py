"""The training core the gradient-trained models share: device and batching, the early-stopping loop,
refit, search, run outputs.
"""

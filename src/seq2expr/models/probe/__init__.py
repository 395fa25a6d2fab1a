"""The frozen-embedding probe of any sequence model: how much expression signal a pretrained model's
hidden states already hold, read out by a cross-validated ridge regression.

`embeddings` pools every chosen layer of every window (mean over the sequence's own tokens, and the
`[CLS]` state where the model has one); `ridge` chooses the layer and the penalty by grouped
cross-validation on the fitting genes and fits the read-out; `readout` keeps the fitted read-out and
makes the probe a prediction function again (for in-silico mutagenesis); `options` holds the probe's
defaults (written once, read by every probe command); `run` is the step both probe commands share.
"""

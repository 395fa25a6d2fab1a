"""From files to the dataset the models share: TSS windows, gene groups of similar genes, the split,
synthetic test data.
"""

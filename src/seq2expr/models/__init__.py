"""Every model of the comparison: the roster, the training core, DExTER, the CNN, DNABERT-2, the gLM
probes.
"""

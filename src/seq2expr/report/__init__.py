"""The MultiQC report of the evaluation: sections, figures, tables, the verdict and the models'
styling.
"""

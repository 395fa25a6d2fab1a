"""seq2expr: how well does the DNA around a TSS predict a gene's expression?

The package holds every step's logic; the `bin/` scripts only parse options and do I/O.
"""

__version__ = "0.1.0"

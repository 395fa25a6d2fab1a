"""What a model learned: in-silico mutagenesis through its prediction function, and the motifs it reads.

- `ism`: per-base contributions around the TSS, the positional meta-profile.
- `motifs`: known core-promoter elements and the most attributed k-mers.
"""

"""The evaluation step: metrics, baselines, strata, paired comparisons and the ladder, computed from
predictions (never imports the report).
"""

"""Reading and writing the pipeline's files: FASTA, GTF, expression tables, TSV tables, predictions,
compute records, downloads and MultiQC content.
"""

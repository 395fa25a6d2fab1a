process BUILD_DATASET {
    tag "${meta.id}"
    label 'process_single'

    container "ghcr.io/seq2expr/seq2expr-cpu:0.1.0"

    input:
    tuple val(meta), path(sequences), path(windows), path(expression)

    output:
    tuple val(meta), path("dataset.tsv.gz")    , emit: dataset
    tuple val(meta), path("dataset_ledger.tsv"), emit: ledger
    tuple val(meta), path("dataset_summary_mqc.tsv"), emit: mqc
    tuple val("${task.process}"), val('seq2expr'), eval('python -c "import seq2expr; print(seq2expr.__version__)"'), topic: versions, emit: versions_seq2expr

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    build_dataset.py \\
        ${args} \\
        --sequences ${sequences} \\
        --windows ${windows} \\
        --expression ${expression} \\
        --tissue "${meta.tissue}" \\
        --outdir .
    """

    stub:
    """
    echo | gzip > dataset.tsv.gz
    touch dataset_ledger.tsv
    touch dataset_summary_mqc.tsv
    """
}

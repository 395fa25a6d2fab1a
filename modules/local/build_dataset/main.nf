process BUILD_DATASET {
    tag "${meta.id}"
    label 'process_single'

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ? 'oras://ghcr.io/seq2expr/seq2expr-cpu:0.1.0-sif' : 'ghcr.io/seq2expr/seq2expr-cpu:0.1.0' }"

    input:
    tuple val(meta), path(sequences), path(windows), path(expression)
    path(code, stageAs: 'code/seq2expr') // src/seq2expr of the launching checkout: the only seq2expr code a task runs

    output:
    tuple val(meta), path("dataset.tsv.gz")    , emit: dataset
    tuple val(meta), path("dataset_ledger.tsv"), emit: ledger
    tuple val(meta), path("gene_groups.tsv")   , emit: groups
    tuple val(meta), path("dataset_summary_mqc.tsv"), emit: mqc
    tuple val(meta), path("gene_groups_mqc.tsv"), emit: groups_mqc
    tuple val("${task.process}"), val('seq2expr'), eval('python3 -c "import seq2expr; print(seq2expr.__version__)"'), topic: versions, emit: versions_seq2expr

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    export PYTHONPATH="\$PWD/code\${PYTHONPATH:+:\$PYTHONPATH}"
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
    export PYTHONPATH="\$PWD/code\${PYTHONPATH:+:\$PYTHONPATH}"
    echo | gzip > dataset.tsv.gz
    touch dataset_ledger.tsv
    touch gene_groups.tsv
    touch dataset_summary_mqc.tsv
    touch gene_groups_mqc.tsv
    """
}

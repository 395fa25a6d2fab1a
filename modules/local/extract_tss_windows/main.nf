process EXTRACT_TSS_WINDOWS {
    tag "${meta.id}"
    label 'process_single'

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ? 'oras://ghcr.io/seq2expr/seq2expr-cpu:0.1.0-sif' : 'ghcr.io/seq2expr/seq2expr-cpu:0.1.0' }"

    input:
    tuple val(meta), path(genome), path(annotation)
    path(code, stageAs: 'code/seq2expr') // src/seq2expr of the launching checkout: the only seq2expr code a task runs

    output:
    tuple val(meta), path("tss_windows.fa")    , emit: fasta
    tuple val(meta), path("tss_windows.tsv")   , emit: windows
    tuple val(meta), path("extract_ledger.tsv"), emit: ledger
    tuple val(meta), path("tss_windows_summary_mqc.tsv"), emit: mqc
    tuple val("${task.process}"), val('seq2expr'), eval('python3 -c "import seq2expr; print(seq2expr.__version__)"'), topic: versions, emit: versions_seq2expr

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    export PYTHONPATH="\$PWD/code\${PYTHONPATH:+:\$PYTHONPATH}"
    extract_tss_windows.py \\
        ${args} \\
        --genome ${genome} \\
        --annotation ${annotation} \\
        --outdir .
    """

    stub:
    """
    export PYTHONPATH="\$PWD/code\${PYTHONPATH:+:\$PYTHONPATH}"
    touch tss_windows.fa
    touch tss_windows.tsv
    touch extract_ledger.tsv
    touch tss_windows_summary_mqc.tsv
    """
}

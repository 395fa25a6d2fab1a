process SHUFFLE_WINDOWS {
    tag "${meta.id}"
    label 'process_single' // one pass over the windows: seconds at study size

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ? 'oras://ghcr.io/seq2expr/seq2expr-cpu:0.1.0-sif' : 'ghcr.io/seq2expr/seq2expr-cpu:0.1.0' }"

    input:
    tuple val(meta), path(sequences)      // the TSS windows FASTA
    path(code, stageAs: 'code/seq2expr') // src/seq2expr of the launching checkout: the only seq2expr code a task runs

    output:
    tuple val(meta), path("shuffled_windows.fa"), emit: shuffled
    tuple val("${task.process}"), val('seq2expr'), eval('python3 -c "import seq2expr; print(seq2expr.__version__)"'), topic: versions, emit: versions_seq2expr

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    export PYTHONPATH="\$PWD/code\${PYTHONPATH:+:\$PYTHONPATH}"
    shuffle_windows.py \\
        ${args} \\
        --sequences ${sequences} \\
        --outdir .
    """

    stub:
    """
    export PYTHONPATH="\$PWD/code\${PYTHONPATH:+:\$PYTHONPATH}"
    touch shuffled_windows.fa
    """
}

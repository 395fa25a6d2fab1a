process FETCH_INPUTS {
    tag "${meta.id}"
    label 'process_single'

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ? 'oras://ghcr.io/seq2expr/seq2expr-cpu:0.1.0-sif' : 'ghcr.io/seq2expr/seq2expr-cpu:0.1.0' }"

    input:
    tuple val(meta), path(registry)
    path(code, stageAs: 'code/seq2expr') // src/seq2expr of the launching checkout: the only seq2expr code a task runs

    output:
    tuple val(meta), path("${meta.filename}")       , emit: file
    tuple val(meta), path("${meta.filename}.sha256"), emit: sha256
    tuple val("${task.process}"), val('seq2expr'), eval('python3 -c "import seq2expr; print(seq2expr.__version__)"'), topic: versions, emit: versions_seq2expr

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    export PYTHONPATH="\$PWD/code\${PYTHONPATH:+:\$PYTHONPATH}"
    fetch_inputs.py \\
        ${args} \\
        --reference ${meta.id} \\
        --registry ${registry} \\
        --outdir .
    """

    stub:
    """
    export PYTHONPATH="\$PWD/code\${PYTHONPATH:+:\$PYTHONPATH}"
    touch ${meta.filename}
    touch ${meta.filename}.sha256
    """
}

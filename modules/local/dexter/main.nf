process DEXTER {
    tag "${meta.id}"
    label 'process_low' // 2 CPUs: a study-size set (22,000 x 4,001 bp) takes 0.6 GB and seconds (bench/dexter.py)

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ? 'oras://ghcr.io/seq2expr/seq2expr-cpu:0.1.0-sif' : 'ghcr.io/seq2expr/seq2expr-cpu:0.1.0' }"

    input:
    tuple val(meta), path(dataset), path(groups) // groups: the dataset's gene_groups.tsv (grouped LassoCV folds under cross-fitting), or []
    path(control)                        // the shuffled windows (shuffled_windows.fa, SHUFFLE_WINDOWS) for the composition control, or [] when it is off
    path(code, stageAs: 'code/seq2expr') // src/seq2expr of the launching checkout: the only seq2expr code a task runs

    output:
    tuple val(meta), path("dexter_variables.tsv")    , emit: variables
    tuple val(meta), path("predictions.tsv")         , emit: predictions
    tuple val(meta), path("model.json")              , emit: model
    tuple val(meta), path("dexter_variables_mqc.tsv"), emit: mqc
    tuple val(meta), path("compute.tsv")             , emit: compute
    tuple val(meta), path("control.tsv")             , emit: control, optional: true // with a control FASTA: the test genes on their shuffled windows too
    tuple val("${task.process}"), val('seq2expr'), eval('python3 -c "import seq2expr; print(seq2expr.__version__)"'), topic: versions, emit: versions_seq2expr
    tuple val("${task.process}"), val('scikit-learn'), eval('python3 -c "import sklearn; print(sklearn.__version__)"'), topic: versions, emit: versions_sklearn

    when:
    task.ext.when == null || task.ext.when

    script:
    def args   = task.ext.args ?: ''
    def shuffled = control ? "--control ${control}" : ''
    // grouped LassoCV folds only under cross-fitting (meta.fold > 0): a single split (the dexter split, the
    // study's) keeps the original's contiguous folds, byte for byte
    def folds  = groups && (meta.fold ?: 0) > 0 ? "--groups ${groups}" : ''
    """
    export PYTHONPATH="\$PWD/code\${PYTHONPATH:+:\$PYTHONPATH}"
    dexter.py \\
        ${args} \\
        --dataset ${dataset} \\
        --fold ${meta.fold ?: 0} \\
        --repeat ${meta.repeat ?: 0} \\
        ${folds} \\
        --tss-index ${meta.tss_index} \\
        --threads ${task.cpus} \\
        ${shuffled} \\
        --outdir .
    """

    stub:
    """
    export PYTHONPATH="\$PWD/code\${PYTHONPATH:+:\$PYTHONPATH}"
    touch dexter_variables.tsv
    touch predictions.tsv
    touch model.json
    touch dexter_variables_mqc.tsv
    touch compute.tsv
    ${control ? 'touch control.tsv' : ''}
    """
}

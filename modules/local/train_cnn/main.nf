process TRAIN_CNN {
    tag "${meta.id}"
    label 'process_medium'
    label 'process_gpu'

    // CUDA image only when the task gets a GPU (ext.use_gpu, set by a gpu profile in conf/base.config);
    // Singularity/Apptainer pull the released SIF unless ext.singularity_pull_docker_container
    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ? (task.ext.use_gpu ? 'oras://ghcr.io/seq2expr/seq2expr-gpu:0.1.0-sif' : 'oras://ghcr.io/seq2expr/seq2expr-cpu:0.1.0-sif') : (task.ext.use_gpu ? 'ghcr.io/seq2expr/seq2expr-gpu:0.1.0' : 'ghcr.io/seq2expr/seq2expr-cpu:0.1.0') }"

    input:
    tuple val(meta), path(dataset)        // meta.seed: the seed of this replicate
    path(control)                        // the shuffled windows (shuffled_windows.fa, SHUFFLE_WINDOWS) for the composition control, or [] when it is off
    path(code, stageAs: 'code/seq2expr') // src/seq2expr of the launching checkout: the only seq2expr code a task runs

    output:
    tuple val(meta), path("predictions.tsv")             , emit: predictions
    tuple val(meta), path("training_log.tsv")            , emit: log
    tuple val(meta), path("cnn_training_curves_mqc.yaml"), emit: mqc
    tuple val(meta), path("model")                       , emit: model
    tuple val(meta), path("compute.tsv")                 , emit: compute
    tuple val(meta), path("fit.json")                    , emit: fit // which genes the predicting weights were fitted on
    tuple val(meta), path("refit_log.tsv")               , emit: refit_log, optional: true // with --refit
    tuple val(meta), path("cnn_search.tsv")              , emit: search, optional: true    // with --search
    tuple val(meta), path("control.tsv")                 , emit: control, optional: true // with a control FASTA: the test genes on their shuffled windows too
    tuple val("${task.process}"), val('seq2expr'), eval('python3 -c "import seq2expr; print(seq2expr.__version__)"'), topic: versions, emit: versions_seq2expr
    tuple val("${task.process}"), val('torch'), eval('python3 -c "import torch; print(torch.__version__)"'), topic: versions, emit: versions_torch

    when:
    task.ext.when == null || task.ext.when

    script:
    def args   = task.ext.args ?: ''
    def shuffled = control ? "--control ${control}" : ''
    def device = task.accelerator ? 'cuda' : 'cpu'
    """
    export PYTHONPATH="\$PWD/code\${PYTHONPATH:+:\$PYTHONPATH}"
    # Writable caches inside the task: containers may run as a user without a home folder
    export TRITON_CACHE_DIR="\$PWD/.cache/triton"
    export MPLCONFIGDIR="\$PWD/.cache/matplotlib"

    train_cnn.py \\
        ${args} \\
        --dataset ${dataset} \\
        --fold ${meta.fold ?: 0} \\
        --repeat ${meta.repeat ?: 0} \\
        --seed ${meta.seed} \\
        --device ${device} \\
        --threads ${task.cpus} \\
        ${shuffled} \\
        --outdir .
    """

    stub:
    """
    export PYTHONPATH="\$PWD/code\${PYTHONPATH:+:\$PYTHONPATH}"
    touch predictions.tsv
    touch training_log.tsv
    touch cnn_training_curves_mqc.yaml
    mkdir model
    touch model/config.json
    touch model/model.safetensors
    touch compute.tsv
    touch fit.json
    ${control ? 'touch control.tsv' : ''}
    """
}

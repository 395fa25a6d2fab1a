process PROBE_DNABERT2 {
    tag "${meta.id}"
    label 'process_medium'
    label 'process_gpu'

    // CUDA image only when the task gets a GPU (ext.use_gpu, set by a gpu profile in conf/base.config);
    // Singularity/Apptainer pull the released SIF unless ext.singularity_pull_docker_container
    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ? (task.ext.use_gpu ? 'oras://ghcr.io/seq2expr/seq2expr-gpu:0.1.0-sif' : 'oras://ghcr.io/seq2expr/seq2expr-cpu:0.1.0-sif') : (task.ext.use_gpu ? 'ghcr.io/seq2expr/seq2expr-gpu:0.1.0' : 'ghcr.io/seq2expr/seq2expr-cpu:0.1.0') }"

    input:
    tuple val(meta), path(dataset), path(groups) // groups: the dataset's gene_groups.tsv (folds of the penalty choice), or []
    path(pretrained, stageAs: 'pretrained/*') // checkpoint folder, or [] to download model_id
    val(model_id)                             // Hugging Face hub id, used when pretrained is []
    path(control)                             // the shuffled windows (shuffled_windows.fa, SHUFFLE_WINDOWS) for the composition control, or [] when it is off
    path(code, stageAs: 'code/seq2expr')      // src/seq2expr of the launching checkout: the only seq2expr code a task runs

    output:
    tuple val(meta), path("predictions.tsv")        , emit: predictions
    tuple val(meta), path("embeddings.safetensors") , emit: embeddings
    tuple val(meta), path("readout.safetensors")    , emit: readout // the fitted read-out: with the checkpoint, the probe's predictions again (ATTRIBUTE)
    tuple val(meta), path("probe.json")             , emit: probe
    tuple val(meta), path("compute.tsv")            , emit: compute
    tuple val(meta), path("control.tsv")            , emit: control, optional: true // with a control FASTA: the test genes on their shuffled windows too
    tuple val("${task.process}"), val('seq2expr'), eval('python3 -c "import seq2expr; print(seq2expr.__version__)"'), topic: versions, emit: versions_seq2expr
    tuple val("${task.process}"), val('torch'), eval('python3 -c "import torch; print(torch.__version__)"'), topic: versions, emit: versions_torch
    tuple val("${task.process}"), val('scikit-learn'), eval('python3 -c "import sklearn; print(sklearn.__version__)"'), topic: versions, emit: versions_sklearn

    when:
    task.ext.when == null || task.ext.when

    script:
    def args   = task.ext.args ?: ''
    def shuffled = control ? "--control ${control}" : ''
    def device = task.accelerator ? 'cuda' : 'cpu'
    def model  = pretrained ?: model_id
    def folds  = groups ? "--groups ${groups}" : ''
    """
    export PYTHONPATH="\$PWD/code\${PYTHONPATH:+:\$PYTHONPATH}"
    # Writable caches inside the task: containers may run as a user without a home folder
    export HF_HOME="\$PWD/.cache/huggingface"
    export TRITON_CACHE_DIR="\$PWD/.cache/triton"
    export MPLCONFIGDIR="\$PWD/.cache/matplotlib"

    probe_dnabert2.py \\
        ${args} \\
        --dataset ${dataset} \\
        --fold ${meta.fold ?: 0} \\
        --repeat ${meta.repeat ?: 0} \\
        ${folds} \\
        --model ${model} \\
        --device ${device} \\
        --threads ${task.cpus} \\
        ${shuffled} \\
        --outdir .
    """

    stub:
    """
    export PYTHONPATH="\$PWD/code\${PYTHONPATH:+:\$PYTHONPATH}"
    touch predictions.tsv
    touch embeddings.safetensors
    touch readout.safetensors
    touch probe.json
    touch compute.tsv
    ${control ? 'touch control.tsv' : ''}
    """
}

process EVALUATE_MODELS {
    tag "${meta.id}"
    label 'process_single'

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ? 'oras://ghcr.io/seq2expr/seq2expr-cpu:0.1.0-sif' : 'ghcr.io/seq2expr/seq2expr-cpu:0.1.0' }"

    input:
    // every model run's predictions.tsv and compute.tsv (same file names: staged in numbered
    // folders); fits: the fit.json of each CNN and DNABERT-2 run ([] when neither ran); dataset: []
    // for no baselines; groups: the dataset's gene_groups.tsv, or [] for every gene its own group;
    // meta.tss_index: the TSS position in the windows (the promoter CpG classes)
    // controls: each model run's control.tsv and shuffled: the shuffled windows ([] without the composition
    // control); attribution: the attribution tables of the attributed models ([] without)
    tuple val(meta), path(predictions, stageAs: 'predictions/?/*'), path(compute, stageAs: 'compute/?/*'), path(fits, stageAs: 'fits/?/*'), path(controls, stageAs: 'control/?/*'), path(attribution, stageAs: 'attribution/?/*'), path(dataset), path(groups), path(shuffled)
    path(code, stageAs: 'code/seq2expr') // src/seq2expr of the launching checkout: the only seq2expr code a task runs

    output:
    tuple val(meta), path("metrics.tsv")   , emit: metrics
    tuple val(meta), path("comparison.tsv"), emit: comparison
    tuple val(meta), path("ladder.tsv")    , emit: ladder
    tuple val(meta), path("compute.tsv")   , emit: compute, optional: true // with compute files only
    tuple val(meta), path("folds.tsv")     , emit: folds
    tuple val(meta), path("interaction.tsv"), emit: interaction
    tuple val(meta), path("control.tsv")   , emit: control, optional: true // with the composition control
    tuple val(meta), path("*_mqc.*")       , emit: mqc
    tuple val("${task.process}"), val('seq2expr'), eval('python3 -c "import seq2expr; print(seq2expr.__version__)"'), topic: versions, emit: versions_seq2expr
    tuple val("${task.process}"), val('scipy'), eval('python3 -c "import scipy; print(scipy.__version__)"'), topic: versions, emit: versions_scipy

    when:
    task.ext.when == null || task.ext.when

    script:
    def args      = task.ext.args ?: ''
    def baselines = dataset ? "--dataset ${dataset} --tss-index ${meta.tss_index}" : ''
    def grouping  = groups ? "--groups ${groups}" : ''
    def computes  = [ compute ].flatten().collect { file -> "--compute ${file}" }.join(' ')
    def fit_files = [ fits ].flatten().collect { file -> "--fit ${file}" }.join(' ')
    def control   = [ controls ].flatten().collect { file -> "--control ${file}" }.join(' ')
    def shuffle   = shuffled && dataset ? "--shuffled ${shuffled}" : ''
    def ism       = [ attribution ].flatten().collect { file -> "--attribution ${file}" }.join(' ')
    """
    export PYTHONPATH="\$PWD/code\${PYTHONPATH:+:\$PYTHONPATH}"
    # Writable matplotlib cache inside the task: containers may run as a user without a home folder
    export MPLCONFIGDIR="\$PWD/.cache/matplotlib"

    evaluate_models.py \\
        ${args} \\
        --predictions ${predictions} \\
        ${computes} \\
        ${fit_files} \\
        ${control} \\
        ${shuffle} \\
        ${ism} \\
        ${baselines} \\
        ${grouping} \\
        --outdir .
    """

    stub:
    """
    export PYTHONPATH="\$PWD/code\${PYTHONPATH:+:\$PYTHONPATH}"
    touch metrics.tsv
    touch comparison.tsv
    touch ladder.tsv
    touch folds.tsv
    touch interaction.tsv
    touch compute.tsv
    touch model_metrics_mqc.tsv
    touch model_comparison_mqc.tsv
    touch observed_vs_predicted_mqc.yaml
    touch prediction_distribution_mqc.yaml
    touch pearson_by_split_mqc.yaml
    touch model_ladder_mqc.png
    touch model_ladder_comparison_mqc.tsv
    touch model_metrics_strata_mqc.tsv
    touch evaluation_verdict_mqc.html
    touch evaluation_methods_mqc.html
    """
}

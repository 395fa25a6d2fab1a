process MULTIQC {
    tag "${meta.id}"
    label 'process_single'

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ? 'oras://ghcr.io/seq2expr/seq2expr-cpu:0.1.0-sif' : 'ghcr.io/seq2expr/seq2expr-cpu:0.1.0' }"

    input:
    tuple val(meta), path(multiqc_files, stageAs: '?/*') // one report per tissue: its *_mqc.* files and the run's shared ones
    path(multiqc_config)                             // assets/multiqc_config.yml
    path(extra_multiqc_config)                       // --multiqc_config, or []
    path(software_versions, stageAs: 'versions/*')   // the versions topic collected into one YAML by main.nf, or []

    output:
    path "*.html"  , emit: report
    path "*_data"  , emit: data
    path "*_plots" , optional: true, emit: plots
    // Not sent to the versions topic: this process reads that topic's collection (software_versions).
    tuple val("${task.process}"), val('multiqc'), eval('multiqc --version | sed "s/.* //"'), emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args         = task.ext.args ?: ''
    def prefix       = task.ext.prefix ?: 'multiqc_report'
    def config       = multiqc_config ? "--config ${multiqc_config}" : ''
    def extra_config = extra_multiqc_config ? "--config ${extra_multiqc_config}" : ''
    """
    # Writable caches inside the task: containers may run as a user without a home folder
    export MPLCONFIGDIR="\$PWD/.cache/matplotlib"

    multiqc \\
        --force \\
        ${args} \\
        ${config} \\
        ${extra_config} \\
        --filename ${prefix}.html \\
        .

    # MultiQC exports each table as a violin plot of its columns ("24 samples"), which says nothing about
    # tables of models: keep the exported figures of the plots only
    rm -f ${prefix}_plots/*/*_table.*
    """

    stub:
    def prefix = task.ext.prefix ?: 'multiqc_report'
    """
    mkdir ${prefix}_data
    touch ${prefix}.html
    """
}

//
// Metrics and paired comparisons of every model of a tissue on the same test genes (the runs of one
// model with several seeds summarised together), then one MultiQC report per tissue with the run's
// shared content: TSS window counts, parameter summary, software versions
//

include { EVALUATE_MODELS } from '../../../modules/local/evaluate_models/main'
include { MULTIQC         } from '../../../modules/local/multiqc/main'

include { groupRuns; paramsSummaryMultiqc; stepCode; tissueMeta; workflowVersionsYaml } from '../utils_nfcore_seq2expr_pipeline'

workflow EVALUATE_AND_REPORT {

    take:
    ch_predictions // channel: [ val(meta), path(predictions.tsv) ] one per model run
    ch_compute     // channel: [ val(meta), path(compute.tsv) ] one per model run
    ch_fits        // channel: [ val(meta), path(fit.json) ] one per per-seed run
    ch_control     // channel: [ val(meta), path(control.tsv) ] one per model run with the composition control
    ch_attribution // channel: [ val(meta), path(attribution_*.tsv) ] of each attributed model
    ch_dataset     // channel: [ val(meta), path(dataset.tsv.gz) ] one per tissue
    ch_groups      // channel: [ val(meta), path(gene_groups.tsv) ] one per tissue
    ch_tissue_mqc  // channel: [ val(meta), path(file) ] report content of one tissue
    ch_shared_mqc  // channel: path(file) report content shared by every tissue
    shuffled       // value channel: path(shuffled_windows.fa), or [] without the composition control
    n_runs         // integer: model runs per tissue
    n_fits         // integer: fit.json files per tissue

    main:

    def ch_fit_runs = n_fits
        ? groupRuns(ch_fits, n_fits)
        : ch_dataset.map { meta, _dataset -> [ meta, [] ] }
    def ch_control_runs = params.composition_control
        ? groupRuns(ch_control, n_runs)
        : ch_dataset.map { meta, _dataset -> [ meta, [] ] }
    // the attribution tables of a tissue (none when no model was attributed), in a fixed order
    def ch_attribution_files = ch_dataset
        .map { meta, _dataset -> [ meta, [] ] }
        .mix(ch_attribution.map { meta, file -> [ tissueMeta(meta), file ] })
        .groupTuple(sort: { a, b -> a.toString() <=> b.toString() })
        .map { meta, files -> [ meta, files.flatten() ] }
    EVALUATE_MODELS (
        groupRuns(ch_predictions, n_runs)
            .join(groupRuns(ch_compute, n_runs))
            .join(ch_fit_runs)
            .join(ch_control_runs)
            .join(ch_attribution_files)
            .join(ch_dataset)
            .join(ch_groups)
            .combine(shuffled.map { fasta -> [ fasta ] }),
        stepCode('evaluate_models.py')
    )

    //
    // Collate and save software versions (every module but MULTIQC sends them to the topic)
    //
    def ch_collated_versions = channel.topic('versions')
        .unique()
        .map { process, tool, version -> [ process.tokenize(':')[-1], "    ${tool}: ${version}" ] }
        .groupTuple()
        .map { process, tool_versions -> "${process}:\n${tool_versions.unique().sort().join('\n')}" }
        .mix(channel.of(workflowVersionsYaml()))
        .collectFile(
            storeDir: "${params.outdir}/pipeline_info",
            name: 'seq2expr_software_mqc_versions.yml',
            sort: true,
            newLine: true
        )

    def ch_workflow_summary = channel.value(paramsSummaryMultiqc())
        .collectFile(name: 'workflow_summary_mqc.yaml')
    def ch_shared_files = ch_shared_mqc
        .mix(ch_workflow_summary)
        .collect()
        .map { files -> [ files ] }
    MULTIQC (
        ch_tissue_mqc
            .mix(EVALUATE_MODELS.out.mqc.transpose())
            .map { meta, file -> [ tissueMeta(meta), file ] }
            .groupTuple(sort: { a, b -> a.name <=> b.name }) // task completion order would defeat -resume
            .combine(ch_shared_files)
            .map { meta, own, shared -> [ meta, own + shared ] },
        file("${projectDir}/assets/multiqc_config.yml", checkIfExists: true),
        params.multiqc_config ? file(params.multiqc_config, checkIfExists: true) : [],
        ch_collated_versions.first()
    )

    emit:
    multiqc_report = MULTIQC.out.report // channel: path(multiqc_report.html), one per tissue
}

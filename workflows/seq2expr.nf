/*
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
    IMPORT SUBWORKFLOWS / FUNCTIONS
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
*/

include { PREPARE_DATA        } from '../subworkflows/local/prepare_data'
include { TRAIN_MODELS        } from '../subworkflows/local/train_models'
include { EVALUATE_AND_REPORT } from '../subworkflows/local/evaluate_and_report'

include { fitBlocks; perSeedModels; probeModels; selectedModels } from '../subworkflows/local/utils_nfcore_seq2expr_pipeline'

/*
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
    RUN MAIN WORKFLOW
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
*/

//
// inputs -> TSS windows and one dataset per tissue -> every model -> evaluation and report.
// Every task runs the package of this checkout, staged into its work folder (so a container can
// never run other code): exactly the files its bin/ script imports, from a folder named by their
// content, so that -resume reruns a step when, and only when, its code changes (stepCode).
//
workflow SEQ2EXPR {

    take:
    ch_references  // channel: [ val(meta: id, kind, filename), path(registry) ] named references to download
    ch_genome      // channel: [ val(meta), path(fasta) ] given by path or URL (empty when fetched)
    ch_annotation  // channel: [ val(meta), path(gtf) ]   given by path or URL (empty when fetched)
    ch_expression  // channel: [ val(meta), path(table) ] given by path or URL (empty when fetched)
    ch_tissues     // channel: [ val(meta: id, tissue, tss_index) ] one per tissue
    pretrained     // value channel: DNABERT-2 checkpoint folder, or [] to download model_id
    model_id       // value channel: DNABERT-2 hub id ('' when pretrained is a folder)

    main:

    def models       = selectedModels()
    def probe_models = probeModels() // checked here, before any task starts

    //
    // SUBWORKFLOW: references, TSS windows, one dataset per tissue
    //
    PREPARE_DATA (
        ch_references,
        ch_genome,
        ch_annotation,
        ch_expression,
        ch_tissues
    )

    //
    // SUBWORKFLOW: every model on each tissue's dataset, in parallel
    //
    TRAIN_MODELS (
        PREPARE_DATA.out.dataset,
        PREPARE_DATA.out.groups,
        models,
        probe_models,
        pretrained,
        model_id,
        PREPARE_DATA.out.shuffled
    )

    //
    // SUBWORKFLOW: metrics, comparisons and the ladder per tissue, then its MultiQC report. The
    // evaluation waits for every run of a tissue: one per model and fit (fold), one per seed of a
    // per-seed model.
    //
    def per_seed   = perSeedModels() // read from the roster once, not once per model
    def n_per_seed = models.count { model -> model in per_seed }
    def n_blocks   = fitBlocks().size()
    def n_fits     = n_per_seed * params.replicates * n_blocks
    def n_runs     = (models.size() - n_per_seed + probe_models.size()) * n_blocks + n_fits
    EVALUATE_AND_REPORT (
        TRAIN_MODELS.out.predictions,
        TRAIN_MODELS.out.compute,
        TRAIN_MODELS.out.fits,
        TRAIN_MODELS.out.control,
        TRAIN_MODELS.out.attribution,
        PREPARE_DATA.out.dataset,
        PREPARE_DATA.out.groups,
        PREPARE_DATA.out.tissue_mqc.mix(TRAIN_MODELS.out.tissue_mqc),
        PREPARE_DATA.out.windows_mqc,
        PREPARE_DATA.out.shuffled,
        n_runs,
        n_fits
    )

    emit:
    multiqc_report = EVALUATE_AND_REPORT.out.multiqc_report // channel: path(multiqc_report.html), one per tissue
}

/*
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
    THE END
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
*/

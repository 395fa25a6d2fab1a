#!/usr/bin/env nextflow
/*
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
    seq2expr/seq2expr
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
    From the DNA around a gene's TSS, how well do DExTER (k-mer/region features + LASSO)
    and a fine-tuned DNABERT-2 predict that gene's expression?
    Github : https://github.com/seq2expr/seq2expr
----------------------------------------------------------------------------------------
*/

/*
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
    IMPORT FUNCTIONS / MODULES / SUBWORKFLOWS / WORKFLOWS
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
*/

include { SEQ2EXPR                } from './workflows/seq2expr'
include { PIPELINE_INITIALISATION } from './subworkflows/local/utils_nfcore_seq2expr_pipeline'
include { PIPELINE_COMPLETION     } from './subworkflows/local/utils_nfcore_seq2expr_pipeline'

/*
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
    NAMED WORKFLOWS FOR PIPELINE
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
*/

//
// WORKFLOW: Run main analysis pipeline depending on type of input
//
workflow SEQ2EXPR_SEQ2EXPR {

    take:
    references // channel: named references to download
    genome     // channel: genome FASTA given by path or URL
    annotation // channel: GTF given by path or URL
    expression // channel: expression table given by path or URL
    tissues    // channel: one meta map per tissue
    pretrained // value channel: DNABERT-2 checkpoint folder, or []
    model_id   // value channel: DNABERT-2 hub id, or ''

    main:
    SEQ2EXPR (
        references,
        genome,
        annotation,
        expression,
        tissues,
        pretrained,
        model_id
    )

    emit:
    multiqc_report = SEQ2EXPR.out.multiqc_report // channel: path(multiqc_report.html), one per tissue
}

/*
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
    RUN MAIN WORKFLOW
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
*/

workflow {

    main:
    //
    // SUBWORKFLOW: version, help, parameter validation and the checks before any task
    //
    PIPELINE_INITIALISATION (
        params.version,
        params.help,
        params.validate_params
    )

    //
    // WORKFLOW: Run main workflow
    //
    SEQ2EXPR_SEQ2EXPR (
        PIPELINE_INITIALISATION.out.references,
        PIPELINE_INITIALISATION.out.genome,
        PIPELINE_INITIALISATION.out.annotation,
        PIPELINE_INITIALISATION.out.expression,
        PIPELINE_INITIALISATION.out.tissues,
        PIPELINE_INITIALISATION.out.pretrained,
        PIPELINE_INITIALISATION.out.model_id
    )

    //
    // SUBWORKFLOW: completion summary
    //
    PIPELINE_COMPLETION (
        params.outdir
    )
}

/*
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
    THE END
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
*/

//
// From the inputs to one dataset per tissue: the named references downloaded and verified, the
// TSS windows (genome-wide, shared by every tissue), their dinucleotide-preserving shuffle (the
// composition control), and each tissue's dataset with its gene groups
//

include { FETCH_INPUTS        } from '../../../modules/local/fetch_inputs/main'
include { EXTRACT_TSS_WINDOWS } from '../../../modules/local/extract_tss_windows/main'
include { BUILD_DATASET       } from '../../../modules/local/build_dataset/main'
include { SHUFFLE_WINDOWS     } from '../../../modules/local/shuffle_windows/main'

include { checkTissues; stepCode } from '../utils_nfcore_seq2expr_pipeline'

workflow PREPARE_DATA {

    take:
    ch_references  // channel: [ val(meta: id, kind, filename), path(registry) ] named references to download
    ch_genome      // channel: [ val(meta), path(fasta) ] given by path or URL (empty when fetched)
    ch_annotation  // channel: [ val(meta), path(gtf) ]   given by path or URL (empty when fetched)
    ch_expression  // channel: [ val(meta), path(table) ] given by path or URL (empty when fetched)
    ch_tissues     // channel: [ val(meta: id, tissue, tss_index) ] one per tissue

    main:

    //
    // MODULE: download and verify the named references (none when every input is a path or URL)
    //
    FETCH_INPUTS (
        ch_references,
        stepCode('fetch_inputs.py')
    )
    def fetched = FETCH_INPUTS.out.file.branch { meta, _file ->
        genome:     meta.kind == 'genome'
        annotation: meta.kind == 'annotation'
        expression: meta.kind == 'expression'
    }
    def genome     = ch_genome.mix(fetched.genome).first()
    def annotation = ch_annotation.mix(fetched.annotation).first()

    //
    // Every requested tissue must be a column of the expression table: PIPELINE_INITIALISATION
    // checks a table given by path; a downloaded one is checked here, before any model runs.
    //
    def checked_download = fetched.expression
        .combine(ch_tissues.map { meta -> meta.tissue }.toList().map { names -> [ names ] })
        .map { meta, table, tissues ->
            checkTissues(table, tissues)
            [ meta, table ]
        }
    def expression = ch_expression.mix(checked_download).first()

    //
    // MODULE: TSS windows (genome-wide, shared by every tissue)
    //
    EXTRACT_TSS_WINDOWS (
        genome.combine(annotation).map { meta, fasta, _meta2, gtf -> [ meta, fasta, gtf ] },
        stepCode('extract_tss_windows.py')
    )

    //
    // MODULE: one dataset per tissue (meta.id = tissue), the same split for every model
    //
    BUILD_DATASET (
        ch_tissues
            .combine(EXTRACT_TSS_WINDOWS.out.fasta.map { _meta, fasta -> fasta })
            .combine(EXTRACT_TSS_WINDOWS.out.windows.map { _meta, windows -> windows })
            .combine(expression.map { _meta, table -> table }),
        stepCode('build_dataset.py')
    )

    //
    // MODULE: every window shuffled tile by tile with its dinucleotides kept (--composition_control)
    //
    def ch_shuffled = channel.value([])
    if (params.composition_control) {
        SHUFFLE_WINDOWS (
            EXTRACT_TSS_WINDOWS.out.fasta,
            stepCode('shuffle_windows.py')
        )
        ch_shuffled = SHUFFLE_WINDOWS.out.shuffled.map { _meta, fasta -> fasta }.first()
    }

    emit:
    shuffled    = ch_shuffled                                                // value channel: path(shuffled_windows.fa), or [] without the control
    dataset     = BUILD_DATASET.out.dataset                                  // channel: [ val(meta), path(dataset.tsv.gz) ] one per tissue
    groups      = BUILD_DATASET.out.groups                                   // channel: [ val(meta), path(gene_groups.tsv) ]
    tissue_mqc  = BUILD_DATASET.out.mqc.mix(BUILD_DATASET.out.groups_mqc)    // channel: [ val(meta), path(file) ] report content of one tissue
    windows_mqc = EXTRACT_TSS_WINDOWS.out.mqc.map { _meta, table -> table } // channel: path(file) report content shared by every tissue
}

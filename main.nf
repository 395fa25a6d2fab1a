#!/usr/bin/env nextflow
/*
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
    seq2expr
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
    From the DNA around a gene's TSS, how well do DExTER (k-mer/region features + LASSO)
    and a fine-tuned DNABERT-2 predict that gene's expression?
    Github : https://github.com/seq2expr/seq2expr
----------------------------------------------------------------------------------------
*/

/*
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
    IMPORT FUNCTIONS / MODULES
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
*/

include { validateParameters; paramsHelp; paramsSummaryLog; paramsSummaryMap } from 'plugin/nf-schema'

include { FETCH_INPUTS        } from './modules/local/fetch_inputs/main'
include { EXTRACT_TSS_WINDOWS } from './modules/local/extract_tss_windows/main'
include { BUILD_DATASET       } from './modules/local/build_dataset/main'
include { DEXTER              } from './modules/local/dexter/main'
include { FINETUNE_DNABERT2   } from './modules/local/finetune_dnabert2/main'
include { EVALUATE_MODELS     } from './modules/local/evaluate_models/main'
include { MULTIQC             } from './modules/local/multiqc/main'

/*
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
    NAMED WORKFLOW FOR PIPELINE
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
*/

workflow SEQ2EXPR {

    take:
    ch_references  // channel: [ val(meta: id, kind, filename), path(registry) ] named references to download
    ch_genome      // channel: [ val(meta), path(fasta) ] given by path or URL (empty when fetched)
    ch_annotation  // channel: [ val(meta), path(gtf) ]   given by path or URL (empty when fetched)
    ch_expression  // channel: [ val(meta), path(table) ] given by path or URL (empty when fetched)
    tissues        // list: tissue names, as in the expression table's header
    pretrained     // path: DNABERT-2 checkpoint folder, or [] to download model_id
    model_id       // string: DNABERT-2 hub id ('' when pretrained is a folder)

    main:

    //
    // MODULE: download and verify the named references (none when every input is a path or URL)
    //
    FETCH_INPUTS (
        ch_references
    )
    def fetched = FETCH_INPUTS.out.file.branch { meta, _file ->
        genome:     meta.kind == 'genome'
        annotation: meta.kind == 'annotation'
        expression: meta.kind == 'expression'
    }
    def genome     = ch_genome.mix(fetched.genome).first()
    def annotation = ch_annotation.mix(fetched.annotation).first()
    def expression = ch_expression.mix(fetched.expression).first()

    //
    // First check: every requested tissue is a column of the expression table. Reading the
    // header takes seconds and fails the run before any model is trained.
    //
    def checked_expression = expression.map { meta, table ->
        checkTissues(table, tissues)
        [ meta, table ]
    }

    //
    // MODULE: TSS windows (genome-wide, shared by every tissue)
    //
    EXTRACT_TSS_WINDOWS (
        genome.combine(annotation).map { meta, fasta, _meta2, gtf -> [ meta, fasta, gtf ] }
    )

    //
    // MODULE: one dataset per tissue (meta.id = tissue), the same split for every model
    //
    def ch_tissues = channel.fromList(tissues).map { tissue ->
        [ id: tissueId(tissue), tissue: tissue, tss_index: params.upstream ]
    }
    BUILD_DATASET (
        ch_tissues
            .combine(EXTRACT_TSS_WINDOWS.out.fasta.map { _meta, fasta -> fasta })
            .combine(EXTRACT_TSS_WINDOWS.out.windows.map { _meta, windows -> windows })
            .combine(checked_expression.map { _meta, table -> table })
    )

    //
    // MODULES: the models, in parallel; each writes the same predictions.tsv format
    //
    def ch_predictions  = channel.empty()
    def ch_tissue_files = BUILD_DATASET.out.mqc   // channel: [ val(meta), path(file) ] report content of one tissue
    if (!params.skip_dexter) {
        DEXTER (
            BUILD_DATASET.out.dataset
        )
        ch_predictions  = ch_predictions.mix(DEXTER.out.predictions)
        ch_tissue_files = ch_tissue_files.mix(DEXTER.out.mqc)
    }
    if (!params.skip_dnabert2) {
        FINETUNE_DNABERT2 (
            BUILD_DATASET.out.dataset,
            pretrained,
            model_id
        )
        ch_predictions  = ch_predictions.mix(FINETUNE_DNABERT2.out.predictions)
        ch_tissue_files = ch_tissue_files.mix(FINETUNE_DNABERT2.out.mqc)
    }

    //
    // MODULE: metrics and paired comparisons of every model of a tissue, on the same test genes
    //
    def n_models = [ params.skip_dexter, params.skip_dnabert2 ].count { skip -> !skip }
    EVALUATE_MODELS (
        ch_predictions
            .groupTuple(size: n_models)
            .join(BUILD_DATASET.out.dataset)
    )
    ch_tissue_files = ch_tissue_files.mix(EVALUATE_MODELS.out.mqc.transpose())

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

    //
    // MODULE: one MultiQC report per tissue (every tissue's sections share their ids), each with
    // the run's shared content: TSS window counts, parameter summary, software versions
    //
    def summary_params      = paramsSummaryMap(workflow, parameters_schema: "nextflow_schema.json")
    def ch_workflow_summary = channel.value(paramsSummaryMultiqc(summary_params))
        .collectFile(name: 'workflow_summary_mqc.yaml')
    def ch_shared_files = EXTRACT_TSS_WINDOWS.out.mqc
        .map { _meta, table -> table }
        .mix(ch_workflow_summary)
        .collect()
        .map { files -> [ files ] }
    MULTIQC (
        ch_tissue_files
            .groupTuple()
            .combine(ch_shared_files)
            .map { meta, own, shared -> [ meta, own + shared ] },
        file("${projectDir}/assets/multiqc_config.yml", checkIfExists: true),
        params.multiqc_config ? file(params.multiqc_config, checkIfExists: true) : [],
        ch_collated_versions.first()
    )

    emit:
    multiqc_report = MULTIQC.out.report // channel: path(multiqc_report.html), one per tissue
}

/*
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
    RUN MAIN WORKFLOW
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
*/

workflow {

    main:

    if (params.version) {
        log.info "seq2expr ${workflow.manifest.version}"
        System.exit(0)
    }
    if (params.help || params.help_full) {
        log.info paramsHelp(
            [
                command: 'nextflow run seq2expr/seq2expr -profile <docker/singularity/.../institute> --genome genome.fa.gz --annotation genes.gtf.gz --expression tpm.gct.gz --tissues Pituitary --outdir <OUTDIR>',
                fullHelp: params.help_full,
                showHidden: params.show_hidden
            ],
            params.help instanceof String ? params.help : ''
        )
        System.exit(0)
    }

    //
    // Parameters: the schema checks types, ranges and choices (negative windows, unknown
    // split or reference names, missing local files); these checks cover what it cannot.
    //
    log.info paramsSummaryLog(workflow)
    if (params.validate_params) {
        validateParameters()
    }
    def registry_file = file("${projectDir}/assets/references.json", checkIfExists: true)
    def registry      = new groovy.json.JsonSlurper().parseText(registry_file.text).references
    def references    = [ 'genome', 'annotation', 'expression' ].collect { kind ->
        def name = params.get(kind + '_reference')
        checkInput(kind, params.get(kind), name, registry.keySet())
        name ? [ [ id: name, kind: kind, filename: registry[name].filename ?: registry[name].url.tokenize('/')[-1] ], registry_file ] : null
    }.findAll { reference -> reference }
    def tissues = params.tissues.tokenize(',').collect { tissue -> tissue.trim() }
    checkTissueIds(tissues)
    if (params.skip_dexter && params.skip_dnabert2) {
        error("--skip_dexter and --skip_dnabert2 together leave no model to evaluate: drop one of them.")
    }
    if (params.split == 'chromosome' && !params.test_chromosomes) {
        error("--split chromosome needs --test_chromosomes (e.g. --test_chromosomes chr8,chr9).")
    }

    //
    // DNABERT-2: a local folder (or remote path) is staged like any input; anything else is a hub id
    //
    def local_model = params.dnabert2_model.contains('://') || file(params.dnabert2_model).exists()
    def pretrained  = local_model ? file(params.dnabert2_model, type: 'dir', checkIfExists: true) : []
    def model_id    = local_model ? '' : params.dnabert2_model

    SEQ2EXPR (
        channel.fromList(references),
        inputChannel(params.genome),
        inputChannel(params.annotation),
        inputChannel(params.expression),
        tissues,
        pretrained,
        model_id
    )
}

/*
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
    FUNCTIONS
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
*/

//
// Exactly one of --<kind> (path or URL) and --<kind>_reference (registry name)
//
def checkInput(kind, path, reference, names) {
    if (path && reference) {
        error("Give either --${kind} or --${kind}_reference, not both.")
    }
    if (!path && !reference) {
        error("Missing input: give --${kind} <path or URL> or --${kind}_reference <name> (one of: ${names.join(', ')}).")
    }
}

//
// [ meta, file ] of a path or URL parameter; empty when the input comes from FETCH_INPUTS
//
def inputChannel(path) {
    if (!path) {
        return channel.empty()
    }
    def input = file(path, checkIfExists: true)
    return channel.of([ [ id: input.simpleName ], input ])
}

//
// A tissue name as a file-name-safe id ('Brain - Cortex' -> 'Brain_-_Cortex')
//
def tissueId(tissue) {
    return tissue.replaceAll(/[^A-Za-z0-9._-]+/, '_')
}

def checkTissueIds(tissues) {
    if (!tissues) {
        error("--tissues is empty: give at least one tissue of the expression table.")
    }
    def clashes = tissues.groupBy { tissue -> tissueId(tissue) }.findAll { _id, names -> names.size() > 1 }
    if (clashes) {
        error("--tissues names the same tissue twice: ${clashes.values().collect { names -> names.join(' / ') }.join('; ')}")
    }
}

//
// The tissue columns of a GTEx GCT (#1.2, dimensions, Name Description <tissues>) or of a TSV
// (gene id, then tissues); names compare like build_dataset.py does: case and punctuation ignored.
//
def checkTissues(table, tissues) {
    def stream = table.newInputStream()
    if (table.name.endsWith('.gz')) {
        stream = new java.util.zip.GZIPInputStream(stream)
    }
    def header = ''
    stream.withReader { reader ->
        header = reader.readLine() ?: ''
        if (header.startsWith('#1.')) {
            reader.readLine()
            header = reader.readLine() ?: ''
        }
    }
    def columns   = header.tokenize('\t')
    def available = columns.drop(columns && columns[1] == 'Description' ? 2 : 1)
    def normalise = { name -> name.toLowerCase().replaceAll(/[^a-z0-9]/, '') }
    def unknown   = tissues.findAll { tissue -> !available.any { column -> normalise(column) == normalise(tissue) } }
    if (unknown) {
        error("Unknown tissue(s) ${unknown.join(', ')} in --tissues: ${table.name} has ${available.join(', ')}.")
    }
}

//
// Pipeline and Nextflow versions for the versions YAML
//
def workflowVersionsYaml() {
    return "Workflow:\n    seq2expr: ${workflow.manifest.version}\n    Nextflow: ${workflow.nextflow.version}"
}

//
// The parameter summary as a MultiQC custom-content section
//
def paramsSummaryMultiqc(summary_params) {
    def summary_section = ''
    summary_params.each { group, group_params ->
        if (group_params) {
            summary_section += "    <p style=\"font-size:110%\"><b>${group}</b></p>\n"
            summary_section += "    <dl class=\"dl-horizontal\">\n"
            group_params.keySet().sort().each { param ->
                summary_section += "        <dt>${param}</dt><dd><samp>${group_params.get(param) ?: '<span style=\"color:#999999;\">N/A</span>'}</samp></dd>\n"
            }
            summary_section += "    </dl>\n"
        }
    }
    def yaml_file_text  = "id: 'seq2expr-summary'\n"
    yaml_file_text     += "description: ' - this information is collected when the pipeline is started.'\n"
    yaml_file_text     += "section_name: 'seq2expr Workflow Summary'\n"
    yaml_file_text     += "section_href: 'https://github.com/seq2expr/seq2expr'\n"
    yaml_file_text     += "plot_type: 'html'\n"
    yaml_file_text     += "data: |\n"
    yaml_file_text     += summary_section
    return yaml_file_text
}

/*
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
    THE END
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
*/

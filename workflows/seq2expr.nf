/*
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
    IMPORT MODULES / FUNCTIONS
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
*/

include { FETCH_INPUTS        } from '../modules/local/fetch_inputs/main'
include { EXTRACT_TSS_WINDOWS } from '../modules/local/extract_tss_windows/main'
include { BUILD_DATASET       } from '../modules/local/build_dataset/main'
include { DEXTER              } from '../modules/local/dexter/main'
include { FINETUNE_DNABERT2   } from '../modules/local/finetune_dnabert2/main'
include { TRAIN_CNN           } from '../modules/local/train_cnn/main'
include { PROBE_DNABERT2      } from '../modules/local/probe_dnabert2/main'
include { PROBE_GLM           } from '../modules/local/probe_glm/main'
include { EVALUATE_MODELS     } from '../modules/local/evaluate_models/main'
include { MULTIQC             } from '../modules/local/multiqc/main'

include { selectedModels; tissueMeta; checkTissues; workflowVersionsYaml; paramsSummaryMultiqc } from '../subworkflows/local/utils_nfcore_seq2expr_pipeline'

/*
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
    RUN MAIN WORKFLOW
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
*/

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

    // Every task runs the package of this checkout, staged into its work folder (so a container
    // can never run other code): only the part its bin/ script imports, from a folder named by its
    // content, so that -resume reruns a step when, and only when, its code changes (stepCode below)
    def models = selectedModels()
    def probe_models = probeModels() // checked here, before any task starts

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
    // MODULES: the models, in parallel; each writes the same predictions.tsv format and a
    // compute.tsv. Models whose training is random run once per seed (--replicates): meta.seed
    // is --seed, --seed + 1, ...; the split stays the one of --seed.
    //
    def ch_datasets = BUILD_DATASET.out.dataset.combine(
        channel.fromList((0..<params.replicates).collect { replicate -> params.seed + replicate })
    ).map { meta, dataset, seed -> [ meta + [ seed: seed ], dataset ] }
    def ch_predictions  = channel.empty()
    def ch_compute      = channel.empty()
    def ch_fits         = channel.empty() // fit.json of the CNN and DNABERT-2 runs: what their weights were fitted on
    def ch_tissue_files = BUILD_DATASET.out.mqc.mix(BUILD_DATASET.out.groups_mqc) // channel: [ val(meta), path(file) ] report content of one tissue
    if ('dexter' in models) {
        DEXTER (
            BUILD_DATASET.out.dataset,
            stepCode('dexter.py')
        )
        ch_predictions  = ch_predictions.mix(DEXTER.out.predictions)
        ch_compute      = ch_compute.mix(DEXTER.out.compute)
        ch_tissue_files = ch_tissue_files.mix(DEXTER.out.mqc)
    }
    if ('dnabert2' in models) {
        FINETUNE_DNABERT2 (
            ch_datasets,
            pretrained,
            model_id,
            stepCode('finetune_dnabert2.py')
        )
        ch_predictions  = ch_predictions.mix(FINETUNE_DNABERT2.out.predictions)
        ch_compute      = ch_compute.mix(FINETUNE_DNABERT2.out.compute)
        ch_fits         = ch_fits.mix(FINETUNE_DNABERT2.out.fit)
        ch_tissue_files = ch_tissue_files.mix(FINETUNE_DNABERT2.out.mqc)
    }
    if ('cnn' in models) {
        TRAIN_CNN (
            ch_datasets,
            stepCode('train_cnn.py')
        )
        ch_predictions  = ch_predictions.mix(TRAIN_CNN.out.predictions)
        ch_compute      = ch_compute.mix(TRAIN_CNN.out.compute)
        ch_fits         = ch_fits.mix(TRAIN_CNN.out.fit)
        ch_tissue_files = ch_tissue_files.mix(TRAIN_CNN.out.mqc)
    }
    if ('dnabert2_probe' in models) {
        PROBE_DNABERT2 (
            BUILD_DATASET.out.dataset.join(BUILD_DATASET.out.groups),
            pretrained,
            model_id,
            stepCode('probe_dnabert2.py')
        )
        ch_predictions  = ch_predictions.mix(PROBE_DNABERT2.out.predictions)
        ch_compute      = ch_compute.mix(PROBE_DNABERT2.out.compute)
    }
    // One frozen probe rung per genome language model of --probe_models (hub id or folder), each
    // with the penalty and layer chosen by folds of the dataset's gene groups
    if (probe_models) {
        PROBE_GLM (
            BUILD_DATASET.out.dataset
                .join(BUILD_DATASET.out.groups)
                .combine(channel.fromList(probe_models))
                .map { meta, dataset, groups, name, hub_id, folder -> [ meta, dataset, groups, name, hub_id, folder ] },
            stepCode('probe_glm.py')
        )
        ch_predictions  = ch_predictions.mix(PROBE_GLM.out.predictions)
        ch_compute      = ch_compute.mix(PROBE_GLM.out.compute)
    }

    //
    // MODULE: metrics and paired comparisons of every model of a tissue, on the same test genes
    // (the runs of one model with several seeds are summarised as mean ± SD)
    //
    // models whose training is random (dnabert2, cnn) run once per seed, each run with a fit.json
    def n_trained = models.count { model -> model in [ 'dnabert2', 'cnn' ] }
    def n_fits    = n_trained * params.replicates
    def n_runs    = models.size() - n_trained + n_fits + probe_models.size()
    def ch_fit_runs = n_fits
        ? groupRuns(ch_fits, n_fits)
        : BUILD_DATASET.out.dataset.map { meta, _dataset -> [ meta, [] ] }
    EVALUATE_MODELS (
        groupRuns(ch_predictions, n_runs)
            .join(groupRuns(ch_compute, n_runs))
            .join(ch_fit_runs)
            .join(BUILD_DATASET.out.dataset)
            .join(BUILD_DATASET.out.groups),
        stepCode('evaluate_models.py')
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
    def ch_workflow_summary = channel.value(paramsSummaryMultiqc())
        .collectFile(name: 'workflow_summary_mqc.yaml')
    def ch_shared_files = EXTRACT_TSS_WINDOWS.out.mqc
        .map { _meta, table -> table }
        .mix(ch_workflow_summary)
        .collect()
        .map { files -> [ files ] }
    MULTIQC (
        ch_tissue_files
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

/*
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
    FUNCTIONS
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
*/

//
// [ meta, file ] of every model run -> [ tissue meta, [ files ] ], one per tissue once its n runs
// are in, in a fixed order (task completion order would defeat -resume)
//
def groupRuns(ch_runs, n_runs) {
    return ch_runs
        .map { meta, file -> [ tissueMeta(meta), file ] }
        .groupTuple(size: n_runs, sort: { a, b -> a.toString() <=> b.toString() })
}

//
// --probe_models as [ name, hub id, folder ] per model: an existing folder is staged (hub id ''),
// anything else is a Hugging Face hub id loaded by the task ([] folder). The name (the folder's or
// the id's last part) names the rung probe:<name> and its output folder, so two models may not share one.
//
def probeModels() {
    def entries = (params.probe_models ?: '').toString().tokenize(',')*.trim().findAll { entry -> entry }.unique()
    def models = entries.collect { entry ->
        def folder = file(entry, type: 'dir')
        if (folder.exists()) {
            checkProbeFolder(folder)
            return [ folder.name, '', folder ]
        }
        if (!(entry ==~ /[A-Za-z0-9][A-Za-z0-9_.-]*\/[A-Za-z0-9][A-Za-z0-9_.-]*/)) {
            error("--probe_models: '${entry}' is neither a checkpoint folder nor a Hugging Face hub id (owner/name)")
        }
        return [ entry.tokenize('/').last(), entry, [] ]
    }
    def names = models.collect { model -> model[0] }
    def twice = names.findAll { name -> names.count(name) > 1 }.unique()
    if (twice) {
        error("--probe_models: two models are named ${twice.join(', ')} (the last part of a folder or hub id names the rung); give folders with distinct names")
    }
    return models
}

//
// A --probe_models folder must hold a transformers config.json; one whose model ships its own code
// (auto_map) runs only with --trust_remote_code. (Whether transformers implements the architecture
// is checked by bin/probe_glm.py before it loads any weight; a hub id is checked by that task.)
//
def checkProbeFolder(folder) {
    def config = folder.resolve('config.json')
    if (!config.exists()) {
        error("--probe_models: ${folder} has no config.json: not a Hugging Face checkpoint folder")
    }
    def settings
    try {
        settings = new groovy.json.JsonSlurper().parse(config.toFile())
    }
    catch (Exception e) {
        error("--probe_models: ${config} is not valid JSON (${e.message})")
    }
    if (!(settings instanceof Map) || !settings.model_type) {
        error("--probe_models: ${config} names no model_type")
    }
    if (settings.auto_map && !params.trust_remote_code) {
        error("--probe_models: ${folder.name} ships its own modelling code (auto_map in ${config}); read it, then allow it with --trust_remote_code")
    }
}

//
// The seq2expr code one step runs, as the folder its module stages as `code/seq2expr`. -resume must
// rerun a step when, and only when, that code changes, and Nextflow hashes a folder input by its
// path, size and time (by the content of every file when the pipeline is pulled at a revision):
// neither follows the code one step runs. So the folder holds only that code, the package's
// __init__.py and the units of src/seq2expr (a top-level module, or a whole subpackage) that the
// step's bin/ script imports, transitively, and its name is their SHA-256: it is copied once into
// the work directory and a task's hash changes exactly when one of those files does. (The bin/
// script itself is in the hash already: Nextflow adds every bin/ script a task names.) A step
// that imports more than its folder holds stops with an ImportError: it never runs stale code.
//
def stepCode(script) {
    def pkg    = file("${projectDir}/src/seq2expr", type: 'dir', checkIfExists: true)
    def units  = importedUnits(pkg, [ file("${projectDir}/bin/${script}", checkIfExists: true) ], [] as Set)
    def files  = ([ pkg.resolve('__init__.py') ] + units.collectMany { unit -> unitFiles(pkg, unit) })
        .unique()
        .sort { source -> pkg.relativize(source).toString() }
    def sha256 = java.security.MessageDigest.getInstance('SHA-256')
    files.each { source ->
        def bytes = source.bytes
        sha256.update("${pkg.relativize(source)}\n${bytes.length}\n".toString().getBytes('UTF-8'))
        sha256.update(bytes)
    }
    def folder = workflow.workDir.resolve("seq2expr-code/${sha256.digest().encodeHex().toString().take(24)}")
    // written once, the marker last, so an interrupted copy is made again rather than used
    def marker = folder.resolve('complete')
    if (!marker.exists()) {
        files.each { source ->
            def target = folder.resolve('seq2expr').resolve(pkg.relativize(source).toString())
            target.parent.mkdirs()
            source.copyTo(target)
        }
        marker.text = "${script}\n"
    }
    return folder.resolve('seq2expr')
}

//
// The units ('cli.py', 'dexter/') of the package that `sources` import, with those their own files
// import, and so on: read from the import statements, including those inside functions and under
// TYPE_CHECKING (a unit named only there is still in the step's folder: a few extra reruns, never
// a missed one)
//
def importedUnits(pkg, sources, known) {
    def found = sources.collectMany { source -> pythonImports(pkg, source) }
        .collect { parts -> packageUnit(pkg, parts) }
        .findAll { unit -> unit && !(unit in known) }
        .toSet()
    return found
        ? importedUnits(pkg, found.collectMany { unit -> unitFiles(pkg, unit) }, known + found)
        : known
}

//
// The modules of the package that one Python file imports, each as its dotted path below seq2expr
// (`from seq2expr.dexter.model import X` -> [dexter, model]; `from seq2expr import cli, tables` ->
// [cli], [tables]; relative imports resolved against the file's own subpackage)
//
def pythonImports(pkg, source) {
    def text   = source.text.replaceAll('\\\\\r?\n', ' ')
    def folder = source.startsWith(pkg) ? pkg.relativize(source.parent).toString().tokenize('/') : null
    def plain  = text.findAll('(?m)^[ \t]*import[ \t]+([^\n#;]+)') { _line, names ->
        names.tokenize(',')
            .collect { name -> name.trim().tokenize(' \t')[0].tokenize('.') }
            .findAll { parts -> parts && parts[0] == 'seq2expr' }
            .collect { parts -> parts.drop(1) }
    }.collectMany { modules -> modules }
    def from   = text.findAll('(?ms)^[ \t]*from[ \t]+(\\.*)([\\w.]*)[ \t]+import[ \t]+(\\([^)]*\\)|[^\n;]*)') { _line, dots, module, names ->
        def parts = module.tokenize('.')
        def base  = null
        if (dots) {
            base = folder == null ? null : folder.take(folder.size() - (dots.length() - 1)) + parts
        }
        else if (parts && parts[0] == 'seq2expr') {
            base = parts.drop(1)
        }
        if (base == null) {
            return []
        }
        return base
            ? [ base ]
            : names.replaceAll('#[^\n]*', '').replaceAll('[()]', ' ').tokenize(',')
                .collect { name -> name.trim().tokenize(' \t\n') }
                .findAll { words -> words }
                .collect { words -> [ words[0] ] }
    }.collectMany { modules -> modules }
    return plain + from
}

// 'cli.py' or 'dexter/' for a dotted path below seq2expr; null for the package itself or a name
// that is no module of it
def packageUnit(pkg, parts) {
    if (!parts) {
        return null
    }
    if (pkg.resolve(parts[0]).isDirectory()) {
        return "${parts[0]}/".toString()
    }
    return pkg.resolve("${parts[0]}.py").isFile() ? "${parts[0]}.py".toString() : null
}

// the Python files of one unit
def unitFiles(pkg, unit) {
    if (!unit.endsWith('/')) {
        return [ pkg.resolve(unit) ]
    }
    return pkg.resolve(unit).listFiles()
        .collectMany { child -> child.isDirectory() ? unitFiles(pkg, "${unit}${child.name}/".toString()) : [ child ] }
        .findAll { child -> child.name.endsWith('.py') }
}

/*
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
    THE END
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
*/

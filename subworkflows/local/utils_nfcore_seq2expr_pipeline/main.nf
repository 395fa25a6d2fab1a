//
// Start and end of a seq2expr run: parameter validation, the checks the schema cannot make,
// the input channels, and the completion summary; and the helpers of the stage subworkflows
// (the code each step stages, the roster of models, --probe_models, the grouping of model runs).
//

include { validateParameters; paramsHelp; paramsSummaryLog; paramsSummaryMap } from 'plugin/nf-schema'

/*
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
    SUBWORKFLOW TO INITIALISE PIPELINE
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
*/

workflow PIPELINE_INITIALISATION {

    take:
    version         // boolean: print the version and exit
    help            // boolean or string: print the parameter help (of one parameter) and exit
    validate_params // boolean: validate the parameters against nextflow_schema.json

    main:

    if (version) {
        log.info "${workflow.manifest.name} ${workflow.manifest.version}"
        System.exit(0)
    }
    if (help || params.help_full) {
        log.info paramsHelp(
            [
                command: "nextflow run ${workflow.manifest.name} -profile <docker/singularity/.../institute> --genome genome.fa.gz --annotation genes.gtf.gz --expression tpm.gct.gz --tissues Pituitary --outdir <OUTDIR>",
                fullHelp: params.help_full,
                showHidden: params.show_hidden
            ],
            help instanceof String ? help : ''
        )
        System.exit(0)
    }

    //
    // Parameters: the schema checks types, ranges and choices (negative windows, unknown split
    // or reference names, a reference of the wrong kind, missing local files, a missing
    // --outdir) and refuses a parameter it does not know (validation.logging.unrecognisedParams
    // = 'error' in nextflow.config: a mistyped name never runs the default); the checks below
    // cover what it cannot. All run before any task starts, and before the summary, so that a
    // refused run ends on its reason.
    //
    // First the mistakes whose schema message would only quote a regex or the name back: a
    // parameter spelt differently from one of ours names the right one, an input file named
    // like another kind says so and what is expected, an unknown model is named with the
    // choices. The model check runs even with --validate_params false: an unknown model would
    // otherwise be left out silently.
    //
    def mistakes = []
    if (validate_params) {
        mistakes += misspeltParameters()
        mistakes += misnamedInputs()
    }
    mistakes += unknownModels()
    if (mistakes) {
        error(mistakes.join('\n'))
    }
    if (validate_params) {
        validateParameters()
    }
    log.info paramsSummaryLog(workflow)
    def registry_file = file("${projectDir}/assets/references.json", checkIfExists: true)
    def registry      = new groovy.json.JsonSlurper().parseText(registry_file.text).references
    def named_references = [ 'genome', 'annotation', 'expression' ].collect { kind ->
        def name = params.get(kind + '_reference')
        checkInput(kind, params.get(kind), name, registry)
        name ? [ [ id: name, kind: kind, filename: registry[name].filename ?: registry[name].url.tokenize('/')[-1] ], registry_file ] : null
    }.findAll { reference -> reference }
    def tissue_names = tissueNames(params.tissues)
    checkTissueIds(tissue_names)
    if (params.expression) {
        // a fetched table is checked by the workflow once downloaded
        checkTissues(file(params.expression, checkIfExists: true), tissue_names)
    }
    if (params.skip_dexter || params.skip_dnabert2) {
        log.warn "--skip_dexter / --skip_dnabert2 are deprecated: list the models to run with --models (now: ${selectedModels().join(',')})."
    }
    if (!selectedModels()) {
        error("No model left to evaluate: --models '${params.models}' without the skipped ones. Name at least one of ${knownModels().join(', ')}.")
    }
    if (params.split == 'chromosome' && !params.test_chromosomes) {
        error("--split chromosome needs --test_chromosomes (e.g. --test_chromosomes chr8,chr9).")
    }
    // Cross-fitting is the grouped split's protocol: another split is one train/val/test split
    // whatever --folds says (fitBlocks); folds other than the defaults (given, or set by a profile)
    // are said to be unused rather than silently ignored
    def defaults = schemaParameters()
    if (params.split != 'grouped' && (params.folds != defaults.folds?.default || params.cv_repeats != defaults.cv_repeats?.default)) {
        log.warn "--folds ${params.folds} / --cv_repeats ${params.cv_repeats} apply to --split grouped only: --split ${params.split} is one train/val/test split, each model fitted once (per seed)."
    }
    checkFinetuneDevice(selectedModels())

    //
    // DNABERT-2: a local folder (or remote path) is staged like any input; anything else is a hub id
    //
    def local_model = params.dnabert2_model.contains('://') || file(params.dnabert2_model).exists()

    emit:
    references = channel.fromList(named_references)    // channel: [ val(meta: id, kind, filename), path(registry) ]
    genome     = inputChannel(params.genome)     // channel: [ val(meta), path(fasta) ], empty when fetched
    annotation = inputChannel(params.annotation) // channel: [ val(meta), path(gtf) ], empty when fetched
    expression = inputChannel(params.expression) // channel: [ val(meta), path(table) ], empty when fetched
    tissues    = channel.fromList(tissue_names).map { tissue -> [ id: tissueId(tissue), tissue: tissue, tss_index: params.upstream ] }
    pretrained = channel.value(local_model ? file(params.dnabert2_model, type: 'dir', checkIfExists: true) : [])
    model_id   = channel.value(local_model ? '' : params.dnabert2_model)
}

/*
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
    SUBWORKFLOW FOR PIPELINE COMPLETION
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
*/

workflow PIPELINE_COMPLETION {

    take:
    outdir // path: --outdir

    main:

    // Inside the handlers `workflow` is not the run's metadata, nor `params` the run's: keep a
    // reference to the first (its fields are filled in by the time the handlers run) and read
    // the second here
    def run = workflow
    def reports = tissueNames(params.tissues).collect { tissue -> "${outdir}/multiqc/${tissueId(tissue)}/multiqc_report.html" }
    run.onComplete {
        def stats = run.stats
        def tasks = "${stats.succeedCount} succeeded, ${stats.cachedCount} cached, ${stats.ignoredCount} ignored, ${stats.failedCount} failed"
        if (run.success) {
            log.info "-[${run.manifest.name}] Pipeline completed successfully in ${run.duration} (${tasks}). Reports: ${reports.join(', ')}; run details: ${outdir}/pipeline_info/"
        } else {
            log.error "-[${run.manifest.name}] Pipeline completed with errors (${tasks}). The failed task's work folder is in the error above; its .command.log holds the step's message."
        }
    }
    run.onError {
        log.error "-[${run.manifest.name}] Pipeline failed: ${failureLine(run.errorMessage)}"
    }
}

/*
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
    FUNCTIONS
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
*/

//
// The one line that says why a run failed: a step's own `Error:` line (its bin/ command prints one,
// after the INFO lines of its log), else the message's last line
//
def failureLine(message) {
    def lines = (message ?: '').readLines()*.trim().findAll { line -> line }
    def error = lines.reverse().find { line -> line.startsWith('Error: ') }
    return error ?: (lines ? lines[-1] : 'see the message above')
}

//
// Every model the pipeline can train, in report order (the roster's keys)
//
def knownModels() {
    return rosterModels().collect { model -> model.key }
}


//
// The models of this run: --models, less the deprecated --skip_* aliases
//
def selectedModels() {
    def models = params.models.tokenize(',').collect { model -> model.trim() }.unique()
    if (params.skip_dexter) {
        models -= 'dexter'
    }
    if (params.skip_dnabert2) {
        models -= 'dnabert2'
    }
    return models
}

//
// The --models items that are not models of the roster, as one message naming them and the choices
//
def unknownModels() {
    if (!(params.models instanceof CharSequence)) {
        return [] // not a string (e.g. --models without a value): the schema's type check says so
    }
    def unknown = params.models.tokenize(',').collect { model -> model.trim() }.findAll { model -> !(model in knownModels()) }
    if (!unknown) {
        return []
    }
    def items = unknown.collect { model -> "'${model}'" }.join(', ')
    return [ "--models: ${items} ${unknown.size() == 1 ? 'is not a model' : 'are not models'}; choose from ${knownModels().join(', ')}" ]
}

//
// The parameters of nextflow_schema.json (every group's), by name
//
def schemaParameters() {
    def schema = new groovy.json.JsonSlurper().parseText(file("${projectDir}/nextflow_schema.json", checkIfExists: true).text)
    def properties = [:] + (schema.properties ?: [:])
    schema.get('$defs')?.each { _group, definition -> properties += definition.properties ?: [:] }
    return properties
}

//
// A name as it compares when looking for a misspelling: case, hyphens, underscores and a final
// 's' ignored (--tissue, --Tissues, --max-n-fraction, --maxNFraction, --dnabert2Epochs)
//
def spellingKey(name) {
    return name.toLowerCase().replaceAll(/[-_]/, '').replaceFirst(/s$/, '')
}

//
// A parameter the schema does not know that is one of ours spelt differently (singular or
// plural, hyphens, camelCase, case) is named with the right one. The others are left to
// nf-schema's own message, and so are the parameters nf-schema leaves alone: those it is told to
// ignore (validation.ignoreParams and defaultIgnoreParams, which nf-core/configs site profiles
// set, e.g. params.genomes) and those without a value (nf-schema drops them before looking).
//
def misspeltParameters() {
    def known   = schemaParameters().keySet()
    // the run's configuration, as nf-schema reads it (Nextflow has no other way for a script to read it)
    def config  = workflow.session.config
    def ignored = (config.navigate('validation.defaultIgnoreParams') ?: []) + (config.navigate('validation.ignoreParams') ?: []) + [ 'nf_test_output' ]
    def byKey   = known.groupBy { name -> spellingKey(name) }
    def given   = params.keySet().findAll { name ->
        def value = params.get(name)
        !(name in known) && !(name in ignored) && (value instanceof Number || value)
    }
    return given.findAll { name -> byKey[spellingKey(name)] }.collect { name ->
        def matches = byKey[spellingKey(name)].sort().collect { match -> '--' + match }
        "--${typedName(name)} is not a parameter of seq2expr; did you mean ${matches.join(' or ')}?"
    }
}

//
// A parameter's name as the command line gave it: Nextflow keeps --max-n-fraction as maxNFraction
//
def typedName(name) {
    def hyphenated = name.replaceAll(/([A-Z])/) { _all, letter -> '-' + letter.toLowerCase() }
    return hyphenated != name && workflow.commandLine.contains("--${hyphenated}") ? hyphenated : name
}

//
// --genome, --annotation and --expression by their names: each takes the names of its schema
// `pattern`, and its `errorMessage` says which ("<kind>: <endings>"). A file named like another
// input's kind (a GTF given as --genome) is told so; a name of no kind gets what is expected.
//
def misnamedInputs() {
    def schema = schemaParameters()
    def inputs = [ 'genome', 'annotation', 'expression' ]
    def given  = inputs.findAll { input -> params.get(input) instanceof CharSequence }
    return given.findAll { input -> !namedLike(params.get(input).toString(), schema[input]) }.collect { input ->
        def path  = params.get(input).toString()
        def other = inputs.find { candidate -> candidate != input && namedLike(path, schema[candidate]) }
        def what  = other ? "looks like ${inputKind(schema[other])}" : "is not named like ${inputKind(schema[input])}"
        "--${input}: ${path.tokenize('/')[-1]} ${what}; --${input} takes ${schema[input].errorMessage}"
    }
}

// JSON schema's `pattern` is a search (nf-schema's too), hence find() rather than a whole match
def namedLike(path, property) {
    return (path =~ property.pattern).find()
}

// "a FASTA genome", from the errorMessage "a FASTA genome: .fa, .fasta or .fna, ..."
def inputKind(property) {
    return property.errorMessage.tokenize(':')[0]
}

//
// Fine-tuning DNABERT-2-117M on a CPU takes days and is killed at the time limit, so a run that
// would do it stops before any task, unless --allow_cpu_finetune says it is meant. It is allowed
// under a gpu profile (the same rule as conf/base.config's process_gpu: a profile name with
// 'gpu'), or when the checkpoint is a small local one (its config.json has hidden_size below 256,
// as the test profile's tiny model: DNABERT-2-117M has 768). A hub id or a remote folder counts
// as the full-size model.
//
def checkFinetuneDevice(models) {
    if (!('dnabert2' in models) || params.allow_cpu_finetune || workflow.profile.contains('gpu') || smallCheckpoint(params.dnabert2_model)) {
        return
    }
    error("--models has dnabert2 but -profile '${workflow.profile}' has no gpu: FINETUNE_DNABERT2 would fine-tune ${params.dnabert2_model} on the CPU (days for the 117M model, killed at the time limit). Add the gpu profile (e.g. -profile test_full,gpu,singularity,slurm), or give --allow_cpu_finetune to run it on the CPU anyway.")
}

def smallCheckpoint(model) {
    def config = model.contains('://') ? null : file(model).resolve('config.json')
    if (!config || !config.exists()) {
        return false
    }
    def hidden = new groovy.json.JsonSlurper().parseText(config.text).hidden_size
    return hidden instanceof Number && hidden < 256
}

//
// Exactly one of --<kind> (path or URL) and --<kind>_reference (a registry name of that kind)
//
def checkInput(kind, path, reference, registry) {
    if (path && reference) {
        error("Give either --${kind} or --${kind}_reference, not both.")
    }
    def names = registry.findAll { _name, entry -> entry.kind == kind }.keySet()
    if (!path && !reference) {
        error("Missing input: give --${kind} <path or URL> or --${kind}_reference <name> (one of: ${names.join(', ')}).")
    }
    if (reference && !(reference in names)) {
        def actual = registry[reference]?.kind
        error("--${kind}_reference ${reference} is ${actual ? 'a reference of kind ' + actual : 'not in assets/references.json'}: give one of ${names.join(', ')}.")
    }
}

//
// [ meta, file ] of a path or URL parameter; empty when the input comes from FETCH_INPUTS
//
def inputChannel(path) {
    if (!path) {
        return Channel.empty()
    }
    def input = file(path, checkIfExists: true)
    return Channel.of([ [ id: input.simpleName ], input ])
}

//
// --tissues as a list of names
//
def tissueNames(tissues) {
    return tissues.tokenize(',').collect { tissue -> tissue.trim() }
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
// Every requested tissue must be a column of the expression table (a GTEx GCT or a TSV; plain,
// gzip, bzip2 or xz). The Python package reads the header, with the reader and the name matching
// (case and punctuation ignored) that BUILD_DATASET uses, so the two can never disagree: the head
// node's python3 runs `python3 -m seq2expr.io.tissues` from this checkout's src/, a module that
// needs only Python's standard library. It exits 0 when every tissue is a column, 65 with a
// one-line message when one is not or the table cannot be read; anything else (no python3, or a
// python3 that cannot run it) leaves the check to BUILD_DATASET, the first step to read the table.
// A remote table (a URL, or a download in a cloud work dir) is copied to a local file first.
//
def checkTissues(table, tissues) {
    def remote = table.toUri().scheme != 'file'
    def local  = remote ? java.nio.file.Files.createTempFile('seq2expr-', "-${table.name}") : table
    if (remote) {
        local.toFile().deleteOnExit() // also when the copy or the check fails
        java.nio.file.Files.copy(table, local, java.nio.file.StandardCopyOption.REPLACE_EXISTING)
    }
    def result = pythonTissueCheck(local, tissues)
    if (remote) {
        java.nio.file.Files.deleteIfExists(local)
    }
    if (result.status == 65) {
        // named as the user knows the table, not as its local copy
        def message = remote ? result.stderr.replace(local.toString(), table.toUriString()).replace(local.name, table.name) : result.stderr
        error(message.trim())
    }
    if (result.status != 0) {
        def reason = result.stderr.readLines().findAll { line -> line.trim() }
        log.warn "The tissues of ${table.name} are left to BUILD_DATASET to check: the head node's python3 could not (${reason ? reason[-1].trim() : 'exit ' + result.status})."
    }
}

//
// [ status, stdout, stderr ] of the package's tissue check on a local table; status -1 when
// python3 cannot be started. -s: the user's own site-packages cannot shadow the package; -B: no
// byte-code written into the checkout.
//
def pythonTissueCheck(table, tissues) {
    def command = [ 'python3', '-s', '-B', '-m', 'seq2expr.io.tissues', '--tissues', tissues.join(','), table.toString() ]
    def builder = new ProcessBuilder(command)
    builder.environment().put('PYTHONPATH', "${projectDir}/src".toString())
    def stdout = new StringBuilder()
    def stderr = new StringBuilder()
    try {
        def process = builder.start()
        process.waitForProcessOutput(stdout, stderr)
        return [ status: process.exitValue(), stdout: stdout.toString(), stderr: stderr.toString() ]
    } catch (IOException e) {
        return [ status: -1, stdout: '', stderr: "python3 could not be started (${e.message})" ]
    }
}

//
// Pipeline and Nextflow versions for the versions YAML
//
def workflowVersionsYaml() {
    return "Workflow:\n    seq2expr: ${workflow.manifest.version}\n    Nextflow: ${workflow.nextflow.version.toString()}"
}

//
// The parameter summary as a MultiQC custom-content section
//
def paramsSummaryMultiqc() {
    def summary_params  = paramsSummaryMap(workflow, parameters_schema: "nextflow_schema.json")
    def summary_section = ''
    summary_params.each { group, all_params ->
        // The run name and report time stamp change with every run: left out, so that -resume
        // finds MULTIQC's inputs unchanged
        def group_params = all_params.findAll { param, _value -> !(param in [ 'runName', 'trace_report_suffix' ]) }
        if (group_params) {
            summary_section += "    <p style=\"font-size:110%\"><b>${group}</b></p>\n"
            summary_section += "    <dl class=\"dl-horizontal\">\n"
            group_params.keySet().sort().each { param ->
                summary_section += "        <dt>${param}</dt><dd><samp>${group_params.get(param) ?: '<span style=\"color:#999999;\">N/A</span>'}</samp></dd>\n"
            }
            summary_section += "    </dl>\n"
        }
    }
    def yaml_file_text  = "id: 'seq2expr-seq2expr-summary'\n"
    yaml_file_text     += "description: ' - this information is collected when the pipeline is started.'\n"
    yaml_file_text     += "section_name: 'seq2expr Workflow Summary'\n"
    yaml_file_text     += "section_href: 'https://github.com/seq2expr/seq2expr'\n"
    yaml_file_text     += "plot_type: 'html'\n"
    yaml_file_text     += "data: |\n"
    yaml_file_text     += summary_section
    return yaml_file_text
}

//
// ---- helpers of the stages: the code each step stages, the roster, --probe_models, run grouping ----
//

//
// The seq2expr code one step runs, as the folder its module stages as `code/seq2expr`. -resume must
// rerun a step when, and only when, that code changes, and Nextflow hashes a folder input by its
// path, size and time (by the content of every file when the pipeline is pulled at a revision):
// neither follows the code one step runs. So the folder holds exactly the package files the step's
// bin/ script imports, transitively, as assets/step_code.json lists them (written by
// `python3 -m seq2expr.step_code`, kept current by tests/python/test_layout.py), and its name is
// their SHA-256: it is copied once into the work directory and a task's hash changes exactly when
// one of those files does. (The bin/ script itself is in the hash already: Nextflow adds every bin/
// script a task names.) A step that imports more than its folder holds stops with an ImportError:
// it never runs stale code.
//
def stepCode(script) {
    def pkg      = file("${projectDir}/src/seq2expr", type: 'dir', checkIfExists: true)
    def manifest = new groovy.json.JsonSlurper().parse(file("${projectDir}/assets/step_code.json", checkIfExists: true).toFile())
    def names    = manifest.steps[script]
    if (!names) {
        error("assets/step_code.json lists no package files for bin/${script}: run `python3 -m seq2expr.step_code`")
    }
    def files  = names.sort().collect { name -> pkg.resolve(name) }
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
// src/seq2expr/models/roster.json, the one definition of every model's key, name and role (Python
// reads the same file)
//
def readRoster() {
    def roster = file("${projectDir}/src/seq2expr/models/roster.json", checkIfExists: true)
    return new groovy.json.JsonSlurper().parse(roster.toFile())
}

//
// The models of the roster
//
def rosterModels() {
    return readRoster().models
}

//
// The predictions' model name of the --probe_models gLM `name`: the roster's probe_prefix and the name
//
def probeName(name) {
    return "${readRoster().probe_prefix}${name}".toString()
}

//
// The --models keys whose model trains once per seed (--replicates), each run with a fit.json
//
def perSeedModels() {
    return rosterModels().findAll { model -> model.per_seed }.collect { model -> model.key }
}

//
// The fits of each model on one dataset, as [ fold, repeat ]: under cross-fitting (--split grouped
// with --folds 2 or more) one per fold of each --cv_repeats fold draw; a single split is [ 0, 0 ]
//
def fitBlocks() {
    if (params.split != 'grouped' || params.folds < 2) {
        return [ [ 0, 0 ] ]
    }
    return (0..<params.cv_repeats).collectMany { repeat -> (1..params.folds).collect { fold -> [ fold, repeat ] } }
}

//
// Whether a model run is the first fit (fold 1 of the first fold draw, or the one split) with the
// first seed: the one whose report content (training curves, DExTER's variables) and attribution
// stand for the model, as all fits would repeat them
//
def firstFit(meta) {
    return (meta.fold ?: 0) <= 1 && (meta.repeat ?: 0) == 0 && (meta.seed == null || meta.seed == params.seed)
}

//
// A model run's output sub-folder: fold_<k>/ under cross-fitting, repeat_<r>/ with several fold
// draws ('' for the one fit of a single split). The seed_<s>/ of a per-seed model's run with
// several seeds is added by its publishDir (conf/modules.config), not here: meta is part of every
// task's hash, and a meta.fit that depended on --replicates would make `-resume --replicates 2`
// train the first seed's fits again.
//
def fitFolder(meta) {
    def parts = []
    if (meta.fold) {
        parts << "fold_${meta.fold}"
    }
    if (meta.fold && params.cv_repeats > 1) {
        parts << "repeat_${meta.repeat}"
    }
    return parts.collect { part -> "/${part}" }.join('')
}

//
// A task's meta without what the workflow adds per fit (fold, repeat, seed, its folder) and per
// attributed model (kind, name, the gLM of a --probe_models probe): what every model of a tissue shares
//
def tissueMeta(meta) {
    return meta.findAll { key, _value -> !(key in [ 'fold', 'repeat', 'seed', 'fit', 'model_kind', 'model_name', 'glm' ]) }
}

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

//
// Helpers of the seq2expr stages: the package code each step stages, the roster of models, the
// --probe_models entries, and the grouping of model runs per tissue
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
// The models of src/seq2expr/models/roster.json, the one definition of every model's key, name and
// role (Python reads the same file)
//
def rosterModels() {
    def roster = file("${projectDir}/src/seq2expr/models/roster.json", checkIfExists: true)
    return new groovy.json.JsonSlurper().parse(roster.toFile()).models
}

//
// The --models keys whose model trains once per seed (--replicates), each run with a fit.json
//
def perSeedModels() {
    return rosterModels().findAll { model -> model.per_seed }.collect { model -> model.key }
}

//
// A task's meta without the replicate's seed the workflow adds: what every model of a tissue shares
//
def tissueMeta(meta) {
    return meta.findAll { key, _value -> key != 'seed' }
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

//
// Every model of --models and --probe_models on each tissue's dataset, in parallel: one task per
// model x fit (fold and repeat of cross-fitting, else the one split) x seed. Each writes the same
// predictions.tsv format and a compute.tsv; models trained once per seed (the roster's per_seed)
// run once for each of --replicates seeds: meta.seed is --seed, --seed + 1, ...; the folds stay
// the ones of --seed.
//

include { DEXTER            } from '../../../modules/local/dexter/main'
include { FINETUNE_DNABERT2 } from '../../../modules/local/finetune_dnabert2/main'
include { TRAIN_CNN         } from '../../../modules/local/train_cnn/main'
include { PROBE_DNABERT2    } from '../../../modules/local/probe_dnabert2/main'
include { PROBE_GLM         } from '../../../modules/local/probe_glm/main'
include { ATTRIBUTE         } from '../../../modules/local/attribute/main'
include { ATTRIBUTE as ATTRIBUTE_PROBE } from '../../../modules/local/attribute/main'

include { firstFit; fitBlocks; fitFolder; probeName; rosterModels; stepCode; tissueMeta } from '../utils_nfcore_seq2expr_pipeline'

workflow TRAIN_MODELS {

    take:
    ch_dataset    // channel: [ val(meta), path(dataset.tsv.gz) ] one per tissue
    ch_groups     // channel: [ val(meta), path(gene_groups.tsv) ] one per tissue
    models        // list: the --models keys of this run
    probe_models  // list: [ name, hub id, folder ] per --probe_models gLM
    pretrained    // value channel: DNABERT-2 checkpoint folder, or [] to download model_id
    model_id      // value channel: DNABERT-2 hub id ('' when pretrained is a folder)
    shuffled      // value channel: the shuffled windows (the composition control), or [] without it

    main:

    // [ meta + fold, repeat, dataset, groups ]: one per fit of each tissue's dataset
    def ch_blocks     = ch_dataset
        .join(ch_groups)
        .combine(channel.fromList(fitBlocks()))
        .map { meta, dataset, groups, fold, repeat -> [ meta + [ fold: fold, repeat: repeat ], dataset, groups ] }
        .map { meta, dataset, groups -> [ meta + [ fit: fitFolder(meta) ], dataset, groups ] }
    def ch_block_data = ch_blocks.map { meta, dataset, _groups -> [ meta, dataset ] }
    def ch_seeded     = ch_block_data.combine(
        channel.fromList((0..<params.replicates).collect { replicate -> params.seed + replicate })
    ).map { meta, dataset, seed -> [ meta + [ seed: seed ], dataset ] }
    def ch_predictions  = channel.empty()
    def ch_compute      = channel.empty()
    def ch_control      = channel.empty() // control.tsv of every run: its test genes on shuffled windows
    def ch_fits         = channel.empty() // fit.json of the per-seed runs: what their weights were fitted on
    def ch_tissue_files = channel.empty()
    def ch_saved        = channel.empty() // [ meta + model_kind, model ] of the first fit of each model ISM can load
    def ch_readouts     = channel.empty() // [ meta + model_kind, model_name (glm), readout, checkpoint folder or [], hub id or '' ] of every probe run
    if ('dexter' in models) {
        DEXTER (
            ch_blocks,
            shuffled,
            stepCode('dexter.py')
        )
        ch_control      = ch_control.mix(DEXTER.out.control)
        ch_predictions  = ch_predictions.mix(DEXTER.out.predictions)
        ch_compute      = ch_compute.mix(DEXTER.out.compute)
        ch_tissue_files = ch_tissue_files.mix(DEXTER.out.mqc)
        ch_saved        = ch_saved.mix(DEXTER.out.model.map { meta, model -> [ meta + [ model_kind: 'dexter' ], model ] })
    }
    if ('dnabert2' in models) {
        FINETUNE_DNABERT2 (
            ch_seeded,
            pretrained,
            model_id,
            shuffled,
            stepCode('finetune_dnabert2.py')
        )
        ch_control      = ch_control.mix(FINETUNE_DNABERT2.out.control)
        ch_predictions  = ch_predictions.mix(FINETUNE_DNABERT2.out.predictions)
        ch_compute      = ch_compute.mix(FINETUNE_DNABERT2.out.compute)
        ch_fits         = ch_fits.mix(FINETUNE_DNABERT2.out.fit)
        ch_tissue_files = ch_tissue_files.mix(FINETUNE_DNABERT2.out.mqc)
        ch_saved        = ch_saved.mix(FINETUNE_DNABERT2.out.model.map { meta, model -> [ meta + [ model_kind: 'dnabert2' ], model ] })
    }
    if ('cnn' in models) {
        TRAIN_CNN (
            ch_seeded,
            shuffled,
            stepCode('train_cnn.py')
        )
        ch_control      = ch_control.mix(TRAIN_CNN.out.control)
        ch_predictions  = ch_predictions.mix(TRAIN_CNN.out.predictions)
        ch_compute      = ch_compute.mix(TRAIN_CNN.out.compute)
        ch_fits         = ch_fits.mix(TRAIN_CNN.out.fit)
        ch_tissue_files = ch_tissue_files.mix(TRAIN_CNN.out.mqc)
        ch_saved        = ch_saved.mix(TRAIN_CNN.out.model.map { meta, model -> [ meta + [ model_kind: 'cnn' ], model ] })
    }
    //
    // In-silico mutagenesis of the first fit of every model with a saved model ISM can load, on a
    // seeded sample of that fit's test genes (--attribution_genes, --attribution_flank). Invoked before
    // the probes: Nextflow numbers a task's eval outputs (versions) in invocation order, and that number
    // is in its hash, so a -resume with other --probe_models would otherwise rerun it. The probes'
    // attribution is ATTRIBUTE_PROBE, invoked after them
    //
    def ch_attribution = channel.empty()
    def names          = rosterModels().collectEntries { model -> [ (model.key): model.name ] }
    if (params.attribution) {
        ATTRIBUTE (
            ch_saved
                .filter { meta, _model -> firstFit(meta) }
                .map { meta, model -> [ tissueMeta(meta), meta + [ model_name: names[meta.model_kind] ], model ] }
                .combine(ch_dataset, by: 0)
                .map { _tissue, meta, model, dataset -> [ meta, model, dataset, [], '' ] },
            stepCode('attribute.py')
        )
        ch_attribution = ATTRIBUTE.out.profile.mix(ATTRIBUTE.out.motifs, ATTRIBUTE.out.kmers, ATTRIBUTE.out.regions)
    }

    if ('dnabert2_probe' in models) {
        PROBE_DNABERT2 (
            ch_blocks,
            pretrained,
            model_id,
            shuffled,
            stepCode('probe_dnabert2.py')
        )
        ch_control      = ch_control.mix(PROBE_DNABERT2.out.control)
        ch_predictions  = ch_predictions.mix(PROBE_DNABERT2.out.predictions)
        ch_compute      = ch_compute.mix(PROBE_DNABERT2.out.compute)
        ch_readouts     = ch_readouts.mix(
            PROBE_DNABERT2.out.readout
                .combine(pretrained.map { folder -> [ folder ] })
                .combine(model_id)
                .map { meta, readout, folder, hub_id -> [ meta + [ model_kind: 'dnabert2_probe', model_name: names['dnabert2_probe'] ], readout, folder, hub_id ] }
        )
    }
    // One frozen probe rung per genome language model of --probe_models (hub id or folder), each
    // with the penalty and layer chosen by folds of the dataset's gene groups
    if (probe_models) {
        PROBE_GLM (
            ch_blocks
                .combine(channel.fromList(probe_models))
                .map { meta, dataset, groups, name, hub_id, folder -> [ meta, dataset, groups, name, hub_id, folder ] },
            shuffled,
            stepCode('probe_glm.py')
        )
        ch_control      = ch_control.mix(PROBE_GLM.out.control)
        ch_predictions  = ch_predictions.mix(PROBE_GLM.out.predictions)
        ch_compute      = ch_compute.mix(PROBE_GLM.out.compute)
        ch_readouts     = ch_readouts.mix(
            PROBE_GLM.out.readout
                .map { meta, name, readout -> [ name, meta, readout ] }
                .combine(channel.fromList(probe_models), by: 0)
                .map { name, meta, readout, hub_id, folder -> [ meta + [ model_kind: 'probe_glm', model_name: probeName(name), glm: name ], readout, folder, hub_id ] }
        )
    }
    //
    // ISM of the first fit of each probe: its read-out through the frozen checkpoint it embedded with,
    // published per probe (attribution/dnabert2_probe/, attribution/probe_glm/<name>/)
    //
    if (params.attribution) {
        ATTRIBUTE_PROBE (
            ch_readouts
                .filter { meta, _readout, _folder, _hub_id -> firstFit(meta) }
                .map { meta, readout, folder, hub_id -> [ tissueMeta(meta), meta, readout, folder, hub_id ] }
                .combine(ch_dataset, by: 0)
                .map { _tissue, meta, readout, folder, hub_id, dataset -> [ meta, readout, dataset, folder, hub_id ] },
            stepCode('attribute.py')
        )
        ch_attribution = ch_attribution.mix(ATTRIBUTE_PROBE.out.profile, ATTRIBUTE_PROBE.out.motifs, ATTRIBUTE_PROBE.out.kmers)
    }

    emit:
    attribution = ch_attribution   // channel: [ val(meta), path(attribution_*.tsv) ] of each attributed model
    control     = ch_control       // channel: [ val(meta), path(control.tsv) ] one per model run with the composition control
    predictions = ch_predictions  // channel: [ val(meta), path(predictions.tsv) ] one per model run (fit x seed)
    compute     = ch_compute      // channel: [ val(meta), path(compute.tsv) ] one per model run
    fits        = ch_fits         // channel: [ val(meta), path(fit.json) ] one per per-seed run
    tissue_mqc  = ch_tissue_files.filter { meta, _file -> firstFit(meta) } // channel: [ val(meta), path(file) ] report content of one tissue (the first fit's)
}

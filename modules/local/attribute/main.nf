process ATTRIBUTE {
    tag "${meta.id}"
    label 'process_low'
    label 'process_gpu'

    // CUDA image only when the task gets a GPU (ext.use_gpu, set by a gpu profile in conf/base.config)
    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ? (task.ext.use_gpu ? 'oras://ghcr.io/seq2expr/seq2expr-gpu:0.1.0-sif' : 'oras://ghcr.io/seq2expr/seq2expr-cpu:0.1.0-sif') : (task.ext.use_gpu ? 'ghcr.io/seq2expr/seq2expr-gpu:0.1.0' : 'ghcr.io/seq2expr/seq2expr-cpu:0.1.0') }"

    input:
    // meta.model_kind: the roster key (dexter, cnn, dnabert2, dnabert2_probe), or probe_glm for a --probe_models
    // gLM's probe; meta.model_name: its name in predictions.tsv; meta.fold / meta.repeat: the fit whose test
    // genes are sampled. A probe's model is its readout.safetensors, read through the frozen checkpoint it
    // embedded with: base_dir (a folder, staged under base/) or base_id (a hub id, when base_dir is []); the
    // other models take [] and ''
    tuple val(meta), path(model), path(dataset), path(base_dir, stageAs: 'base/*'), val(base_id)
    path(code, stageAs: 'code/seq2expr') // src/seq2expr of the launching checkout: the only seq2expr code a task runs

    output:
    tuple val(meta), path("attribution_profile.tsv")  , emit: profile
    tuple val(meta), path("attribution_tracks.tsv.gz"), emit: tracks
    tuple val(meta), path("attribution_motifs.tsv")   , emit: motifs
    tuple val(meta), path("attribution_kmers.tsv")    , emit: kmers
    tuple val(meta), path("attribution_regions.tsv")  , emit: regions, optional: true // DExTER's selected regions
    tuple val(meta), path("attribution_{onehot,hypothetical}.npz"), emit: modisco // TF-MoDISco-lite's inputs
    tuple val("${task.process}"), val('seq2expr'), eval('python3 -c "import seq2expr; print(seq2expr.__version__)"'), topic: versions, emit: versions_seq2expr

    when:
    task.ext.when == null || task.ext.when

    script:
    def args   = task.ext.args ?: ''
    def device = task.accelerator ? 'cuda' : 'cpu'
    def base   = base_dir ?: base_id
    """
    export PYTHONPATH="\$PWD/code\${PYTHONPATH:+:\$PYTHONPATH}"
    # Writable caches inside the task: containers may run as a user without a home folder
    export HF_HOME="\$PWD/.cache/huggingface"
    export TRITON_CACHE_DIR="\$PWD/.cache/triton"

    attribute.py \\
        ${args} \\
        --model-kind ${meta.model_kind} \\
        --model ${model} \\
        ${base ? "--base-model ${base}" : ''} \\
        --name '${meta.model_name}' \\
        --dataset ${dataset} \\
        --fold ${meta.fold} \\
        --repeat ${meta.repeat} \\
        --tss-index ${meta.tss_index} \\
        --device ${device} \\
        --threads ${task.cpus} \\
        --outdir .
    """

    stub:
    """
    export PYTHONPATH="\$PWD/code\${PYTHONPATH:+:\$PYTHONPATH}"
    touch attribution_profile.tsv
    echo | gzip > attribution_tracks.tsv.gz
    touch attribution_motifs.tsv
    touch attribution_kmers.tsv
    touch attribution_onehot.npz attribution_hypothetical.npz
    """
}

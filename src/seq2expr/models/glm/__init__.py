"""Any genome language model from the Hugging Face Hub or a local folder, for the frozen probe.

`loading` checks a checkpoint from its config.json (native architecture, or remote code only when
trusted) and loads its AutoModel; `chunking` turns windows into the model's inputs with its own
tokenizer and maximum length; `probe` is the step of `bin/probe_glm.py`; `tiny` writes the small
random-weight checkpoints the tests and `-profile test` use.
"""

"""Files fastnet reads and writes: model files and checkpoints (``model_io``), the
entries of .npz archives (``npz_entries``), PNG images (``png``), pictures
(``pictures``), the run folder's names (``run_layout``), and atomic writes with
the rule of what a command may write over (``outputs``).
"""

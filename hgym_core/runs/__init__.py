"""Runs on disk and in the background: the run folder, atomic writes, listing, training jobs and the training process."""

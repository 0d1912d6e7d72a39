"""Runs on disk and in the background.

folder (a run is its folder), info (run.json, typed: its one reader and writer), lock (one writer
per folder), patients (the holdout split and patients.json), sources (a run's table back),
listing, service (start / resume / extend / stop / delete, for the command line and the
dashboard), schedule and estimate (steps and their time), jobs, training_process, tasks, atomic.
"""

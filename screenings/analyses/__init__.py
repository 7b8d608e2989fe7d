"""Media-analysis jobs: running them in a worker, their task and their progress."""

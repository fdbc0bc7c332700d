"""Import and export jobs: their files, progress and outcome."""

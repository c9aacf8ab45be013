"""The top floor: the command line, jobs, workers, transfers, backups, demo data."""

"""Beat: the one schedule, dependency polling, archiving and clean-up (arrives with the pipeline issue)."""

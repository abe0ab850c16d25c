"""Running the job grid: jobs, the store, executors and the environment record."""

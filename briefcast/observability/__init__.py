"""What operators watch: metrics, the trail of log lines that joins one run, readiness."""

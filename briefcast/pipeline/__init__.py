"""The Celery pipeline: app, queues, canvas, thin tasks, and the stage services they call."""

"""Campaigns: schedules in local time, the content each occurrence posts, the materializer."""

"""All SQL lives in these modules, one per aggregate (runs with their stages, briefs as
accepted, posts with their attempts and snapshots, brand voices, accounts, usage, outbox, media,
campaigns, organizations), plus the beat's claims, the analytics reads and the probes. Async
functions serve the API, sync ones the workers."""

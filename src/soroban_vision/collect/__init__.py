"""The real-data loop: a collection service for column crops and whole frames, its review API and
page, and the export of reviewed crops as a dataset to fine-tune on.

`soroban-vision collect-server` runs `service.serve`; `soroban-vision dataset export` runs
`export.export_dataset`. The pieces, one idea each: payloads (what clients send), crops and frames
(image checks), rejection (every refusal: a stable code and an HTTP status), auth and rate (keys and
the per-key rate limit), provenance (hashed ids), judge (the model's own reading and the review
decision), storage (SQLite or PostgreSQL through SQLAlchemy), app (the HTTP routes), review (the
review page's files), export, and for tests and benchmarks: process (the server in a subprocess)
and cluster (a throwaway PostgreSQL).

The training page: training (its HTTP routes), trainer (one run at a time: export, train, compare,
publish), trainer_settings (from the server's environment), runs (a run's parameters and state),
runlog and sse (its numbered events, streamed), child and confine (each step a bounded subprocess),
compare (the new model against the current one), verdict (the "not worse" rule) and published
(the publish folder and the current model).
"""

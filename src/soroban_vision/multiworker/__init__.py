"""Training on several machines: who is in the cluster (cluster), joining it with a deadline
(rendezvous), the numbers workers share (collective), the chief's per-epoch backup (backup) and the
training loop itself (loop)."""

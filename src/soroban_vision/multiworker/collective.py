"""Numbers the workers share: sums over every worker, and the chief's bytes sent to all of them,
through the strategy's own all-reduce (the cluster has no other channel once it is formed)."""

from __future__ import annotations

import numpy as np


class Collective:
    def __init__(self, strategy):
        import tensorflow as tf

        self.strategy = strategy

        def all_sum(values):
            # tf.identity: the all-reduce needs a value placed on the replica's device
            return strategy.run(
                lambda v: tf.distribute.get_replica_context().all_reduce("SUM", tf.identity(v)),
                args=(values,),
            )

        self._all_sum = tf.function(all_sum, reduce_retracing=True)

    def sum(self, values: np.ndarray) -> np.ndarray:
        """`values` summed over the workers; each worker's counted once, whatever its number of devices."""
        import tensorflow as tf

        values = np.asarray(values)
        first = iter([True])

        def on_replica(_context):
            return tf.constant(values) if next(first, False) else tf.zeros(values.shape, values.dtype)

        total = self._all_sum(self.strategy.experimental_distribute_values_from_function(on_replica))
        return self.strategy.experimental_local_results(total)[0].numpy()

    def from_chief(self, payload: bytes | None) -> bytes:
        """The chief's `payload` on every worker (the others pass None); b"" when the chief has none."""
        size = int(self.sum(np.array([len(payload or b"")], np.int64))[0])
        if size == 0:
            return b""
        words = np.zeros((size + 3) // 4, np.int32)  # bytes packed four to a word; x + 0 is exact
        if payload:
            words.view(np.uint8)[:size] = np.frombuffer(payload, np.uint8)
        return self.sum(words).view(np.uint8)[:size].tobytes()

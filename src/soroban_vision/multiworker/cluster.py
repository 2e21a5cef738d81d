"""Who is in a training cluster and which member this process is, from `--cluster`/`--task-index` or
from TF_CONFIG. Checked before TensorFlow starts, so that a bad value is a one-line usage error."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from soroban_vision.errors import SorobanError, UsageError

ADDRESS = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):([0-9]{1,5})$")
JOBS = ("chief", "worker")  # the TF_CONFIG jobs a MultiWorkerMirroredStrategy cluster has


class ClusterError(SorobanError):
    """The cluster could not be formed or lost a member: nothing the options can fix at once."""

    code = "cluster"


class ClusterLost(ClusterError):
    """A worker stopped answering during the run. The run goes on from the chief's backup once every
    worker is back; the CLI restarts its process to rejoin."""

    code = "cluster_lost"


@dataclass(frozen=True)
class Cluster:
    workers: tuple[str, ...]  # host:port of every worker, the chief (index 0) first
    index: int  # this process's place in `workers`

    @property
    def size(self) -> int:
        return len(self.workers)

    @property
    def is_chief(self) -> bool:
        return self.index == 0

    @property
    def chief(self) -> str:
        return self.workers[0]

    def host_port(self, index: int) -> tuple[str, int]:
        host, port = self.workers[index].rsplit(":", 1)
        return host.strip("[]"), int(port)

    def resolver(self):
        """TensorFlow's view of this cluster: one 'worker' job, this process at `index`."""
        import tensorflow as tf

        spec = tf.train.ClusterSpec({"worker": list(self.workers)})
        return tf.distribute.cluster_resolver.SimpleClusterResolver(
            spec, task_type="worker", task_id=self.index, rpc_layer="grpc"
        )


def parse_addresses(text: str | list[str], flag: str = "--cluster") -> tuple[str, ...]:
    """'host:port,host:port' (or a list of them) -> the addresses, each checked."""
    items = text.split(",") if isinstance(text, str) else list(text)
    workers = tuple(item.strip() for item in items)
    if not workers or workers == ("",):
        raise UsageError(f"{flag} is empty; give host:port,host:port with the chief first")
    for address in workers:
        match = ADDRESS.match(address)
        if not match or not 1 <= int(match.group(2)) <= 65535:
            raise UsageError(f"{flag}: {address!r} is not host:port (a port from 1 to 65535)")
    repeated = sorted({a for a in workers if workers.count(a) > 1})
    if repeated:
        raise UsageError(f"{flag} lists {repeated[0]} twice; each worker needs its own host:port")
    return workers


def _check_index(index: int, workers: tuple[str, ...], flag: str) -> int:
    if not 0 <= index < len(workers):
        raise UsageError(
            f"{flag} {index} is out of range: the cluster has {len(workers)} worker(s), "
            f"so it is 0 to {len(workers) - 1}"
        )
    return index


def from_tf_config(text: str) -> Cluster:
    """TensorFlow's TF_CONFIG: the 'chief' (if any) and then the 'worker' job, in that order."""
    try:
        doc = json.loads(text)
        jobs, task = doc["cluster"], doc["task"]
        kind, number = task["type"], int(task["index"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        reason = e.msg if isinstance(e, json.JSONDecodeError) else f"no {e}" if isinstance(e, KeyError) else e
        raise UsageError(f"TF_CONFIG is not a cluster and task ({reason})") from None
    unknown = sorted(set(jobs) - set(JOBS))
    if unknown:
        raise UsageError(
            f"TF_CONFIG job {unknown[0]!r} is not supported; use 'worker' (and optionally 'chief')"
        )
    if kind not in JOBS or kind not in jobs:
        raise UsageError(f"TF_CONFIG task type {kind!r} is not one of the cluster's jobs {sorted(jobs)}")
    chiefs = list(jobs.get("chief", []))
    workers = parse_addresses(chiefs + list(jobs.get("worker", [])), "TF_CONFIG")
    first = 0 if kind == "chief" else len(chiefs)
    _check_index(number, tuple(jobs[kind]), "TF_CONFIG task index")
    return Cluster(workers, first + number)


def resolve(cluster: str | list[str] | None, task_index: int | None, tf_config: str | None) -> Cluster | None:
    """The cluster the options and TF_CONFIG describe; None for a single worker without either.
    Both given must agree."""
    if cluster is None and task_index is None:
        return from_tf_config(tf_config) if tf_config else None
    if cluster is None:
        if not tf_config:
            raise UsageError("--task-index needs --cluster host:port,host:port (the chief first)")
        given = from_tf_config(tf_config)
        if task_index != given.index:
            raise UsageError(f"--task-index {task_index} and TF_CONFIG's task ({given.index}) disagree")
        return given
    if task_index is None:
        raise UsageError("--cluster needs --task-index: this worker's place in the list, 0 for the chief")
    workers = parse_addresses(cluster)
    given = Cluster(workers, _check_index(task_index, workers, "--task-index"))
    if tf_config:
        other = from_tf_config(tf_config)
        if other != given:
            raise UsageError(
                f"--cluster/--task-index ({','.join(workers)} #{task_index}) and TF_CONFIG "
                f"({','.join(other.workers)} #{other.index}) disagree; give one of them"
            )
    return given

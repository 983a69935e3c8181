"""Clusters as the engine shows them: the config's clusters and presets, backends, Slurm's scheduler
view, the GPU ledger per host, and shells inside runs."""

from __future__ import annotations

from core.errors import EngineError

TYPE_CHECKING = False  # typing stays out of `vessl-tui ps`
if TYPE_CHECKING:
    from typing import Any

    from core.backends.base import Backend, ClusterCheck
    from core.config import ClusterConfig, Config, Preset
    from core.spec.runspec import RunSpec


class ClusterViews:
    """Engine methods about clusters, their GPUs and shells into runs. Mixed into
    `core.engine.Engine`, whose `config`, `store`, `_cluster`, `get` and `run_context` they use."""

    # --- clusters -------------------------------------------------------------------------

    def clusters(self) -> list["ClusterConfig"]:
        return self.config.clusters()

    def reload_config(self) -> None:
        """Read the config file again (new clusters, presets, secrets); raises EngineError, keeping
        the config read before, when the file has problems."""
        from core.config import ConfigError, load_config

        try:
            self._config = load_config()
        except ConfigError as exc:
            raise EngineError(str(exc)) from None

    def presets(self) -> list["Preset"]:
        return self.config.presets()

    def cluster_presets(self, name: str) -> list["Preset"]:
        """Presets usable on cluster `name`: the config's, then the cluster's own (Slurm partitions)."""
        from core.backends.base import BackendError

        own = getattr(self.backend(name), "presets", None)
        try:
            return self.config.presets_for(self._cluster(name).name) + (own() if own else [])
        except BackendError as exc:
            raise EngineError(str(exc)) from None

    def _config_for(self, spec: "RunSpec", backend: "Backend") -> "Config":
        """The config, with the cluster's own presets added when the spec names one of them."""
        preset = spec.resources.preset
        own = getattr(backend, "presets", None)
        if not preset or preset in self.config.preset_map or own is None:
            return self.config
        return self.config.with_presets(own())

    def backend(self, name: str) -> "Backend":
        from core.backends import backend_for
        from core.backends.base import BackendError

        try:
            return backend_for(self._cluster(name))
        except BackendError as exc:
            raise EngineError(str(exc)) from None

    def scheduler_view(self, name: str) -> dict[str, list] | None:
        """A Slurm cluster's partitions, nodes and queue ({"partitions", "nodes", "queue"}: lists of
        core.backends.slurm.parse records); None for clusters without a scheduler. EngineError
        with one sentence when the scheduler does not answer."""
        from core.backends.base import BackendError

        backend = self.backend(name)
        if not hasattr(backend, "overview"):
            return None
        try:
            return backend.overview()  # type: ignore[attr-defined]
        except BackendError as exc:
            raise EngineError(str(exc)) from None

    def gres_hosts(self, cluster: "str | ClusterConfig") -> list[tuple[Any, dict[str, Any]]]:
        """A Slurm cluster's GPUs as the GPU area shows hosts: per node a core.metrics.HostGpus
        (`CLUSTER/NODE`, one GpuSample per GRES GPU, no utilization: Slurm allocates, it does not
        sample) and its allocation ({"holders": {index: {"run_id", "name"}}, "queue": []}); one
        unreachable HostGpus with the sentence when the scheduler does not answer."""
        from core.backends import backend_for
        from core.backends.base import BackendError
        from core.metrics import GpuSample, HostGpus

        target = self._cluster(cluster) if isinstance(cluster, str) else cluster
        try:
            nodes = backend_for(target).gres_allocation()  # type: ignore[attr-defined]
        except BackendError as exc:
            return [(HostGpus(host=target.name, state="unreachable", message=str(exc)), {"holders": {}, "queue": []})]
        hosts = []
        for node in nodes:
            name = f"{target.name}/{node['node']}"
            gpus = [GpuSample(index=i, name="GPU (Slurm GRES)") for i in range(node["gpus"])]
            host = HostGpus(host=name, gpus=gpus, state="ok" if gpus else "no-gpu",
                            message="" if gpus else f"no GPU in the node's GRES ({node['state']})")
            hosts.append((host, {"holders": node["holders"], "queue": []}))
        return hosts

    def check_cluster(self, name: str) -> "ClusterCheck":
        return self.backend(name).check()

    def gpu_allocation(self, cluster: "str | ClusterConfig") -> dict[str, Any]:
        """Who holds each GPU of the host behind `cluster` and which runs wait for them:
        {"host", "holders": {index: {"run_id", "name"}}, "queue": [{"run_id", "name", "count",
        "since"}]}; host None for a cluster kind that allocates GPUs itself (Slurm)."""
        from core.gpu_ledger import GpuLedger, ledger_host

        target = self._cluster(cluster) if isinstance(cluster, str) else cluster
        return GpuLedger(self.store.conn).allocation(ledger_host(target))

    def gpu_utilization(self, run_ids: list[str]) -> float | None:
        """Mean utilization (percent) of the GPUs `run_ids` hold, sampled on their hosts; None when
        they hold none or their hosts do not report it (the serve autoscaler's `gpu` metric)."""
        from core.gpu_ledger import GpuLedger
        from core.metrics import host_gpus

        ledger = GpuLedger(self.store.conn)
        wanted: dict[str, tuple["ClusterConfig", set[int]]] = {}
        for run_id in run_ids:
            held = ledger.held(run_id)
            if held:
                cluster = self.run_context(run_id).cluster
                wanted.setdefault(cluster.name, (cluster, set()))[1].update(g["index"] for g in held)
        values = [g.utilization for cluster, indices in wanted.values() for g in host_gpus(cluster).gpus
                  if g.index in indices and g.utilization is not None]
        return sum(values) / len(values) if values else None

    def open_shell(self, ref: str) -> int:
        """Run the backend's shell inside running run `ref` on this process's terminal and return its
        exit code. EngineError (one sentence) when the run has ended, has not started, or its cluster
        offers no shell."""
        import subprocess

        argv, env = self.shell_command(ref)
        try:
            return subprocess.call(argv, env=env)
        except OSError as exc:
            raise EngineError(f"could not start {argv[0]}: {exc.strerror}.") from None

    def shell_command(self, ref: str) -> tuple[list[str], dict[str, str]]:
        """(argv, environment) of a shell inside running run `ref` that has the run's env (its
        variables with values; secrets stay the run's own) and VESSL_TUI_RUN_ID set. EngineError
        (one sentence) when the run has ended, has not started, or its cluster offers no shell."""
        from core.backends.base import ShellAccess
        from core.interactive import SHELL_MARK

        record = self.get(ref)
        if record.final:
            raise EngineError(f"run {record.id} has ended ({record.status}): a shell needs a running run.")
        backend = self.backend(record.cluster)
        if not isinstance(backend, ShellAccess):
            raise EngineError(f"run {record.id} runs on cluster {record.cluster} ({backend.kind}), which offers no shell.")
        if not record.handle:
            raise EngineError(f"run {record.id} has not started yet: try again when it is running.")
        ctx = self.run_context(record.id)
        env = {v.name: v.value for v in ctx.spec.env if v.value is not None and not v.secret and not v.secret_ref}
        env["VESSL_TUI_RUN_ID"] = record.id
        env[SHELL_MARK] = record.id  # a dev-environment sees someone is in it (inactivity_duration)
        return backend.shell_command(ctx, record.handle, env)

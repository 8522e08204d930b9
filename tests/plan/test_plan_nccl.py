"""The NCCL derivation's one owner (dualnet.plan.nccl), as render and verify both use it."""

from __future__ import annotations

from dualnet.plan.nccl import SOCKET_IFNAME, ib_hca_value, nccl_settings
from dualnet.render.workloads import nccl_env
from tests.plan.hosts import gpu_node
from tests.render.cases import plan_for


def test_ib_hca_value_matches_names_exactly() -> None:
    assert ib_hca_value(["mlx5_1"]) == "=mlx5_1"
    assert ib_hca_value(["mlx5_0:1", "mlx5_3:1"]) == "=mlx5_0:1,mlx5_3:1"


def test_render_and_host_derivation_format_alike() -> None:
    # One syntax, one formatter: `=` then exact `device[:port]` names, comma-separated. Render
    # names the device (each node's pod sees the port the plan gives it), nccl-env adds the
    # ACTIVE port it found on this node; both name the same devices in the same order.
    plan = plan_for("gh200-shared-roce")
    rendered = {e["name"]: e["value"] for e in nccl_env(plan)}
    settings = nccl_settings(gpu_node(), training_netdevs=["ens1f0np0"])
    assert plan.nccl_ib_hca and settings.hcas
    assert rendered["NCCL_IB_HCA"] == ib_hca_value(plan.nccl_ib_hca)
    assert settings.env["NCCL_IB_HCA"] == ib_hca_value(settings.hcas)
    assert [h.partition(":")[0] for h in settings.hcas] == plan.nccl_ib_hca
    assert all(h.partition(":")[2].isdigit() for h in settings.hcas)
    assert rendered["NCCL_SOCKET_IFNAME"] == settings.env["NCCL_SOCKET_IFNAME"] == SOCKET_IFNAME


def test_qos_knobs_come_only_from_the_spec() -> None:
    from dualnet.plan.nccl import SPEC_ONLY_KNOBS, qos_env
    from dualnet.spec import NcclQos

    plan = plan_for("gh200-shared-roce")
    rendered = {e["name"] for e in nccl_env(plan)}
    derived = nccl_settings(gpu_node(), training_netdevs=["ens1f0np0"]).env
    assert not rendered & set(SPEC_ONLY_KNOBS) and not derived.keys() & set(SPEC_ONLY_KNOBS)
    qos = NcclQos(traffic_class=106, service_level=3)
    spec = plan.spec.model_copy(update={"spec": plan.spec.spec.model_copy(update={"nccl": qos})})
    env = {e["name"]: e["value"] for e in nccl_env(plan.model_copy(update={"spec": spec}))}
    assert (env["NCCL_IB_TC"], env["NCCL_IB_SL"]) == ("106", "3")
    assert "NCCL_IB_QPS_PER_CONNECTION" not in env
    assert qos_env(NcclQos(qps_per_connection=4)) == {"NCCL_IB_QPS_PER_CONNECTION": "4"}

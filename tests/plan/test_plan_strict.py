"""What the user wrote is what is checked: the loader is exactly as strict as `dualnet schema`
(no coercion), bare addresses and kernel-refused interface names are usage errors, and the plan
prints the spec in the user's own spelling."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dualnet.errors import UsageError
from dualnet.host.samples import build_sample
from dualnet.names import check_ifname, is_ifname
from dualnet.prepare.source import parse_steps
from dualnet.spec import parse_spec, spec_json_schema
from tests.helpers import have_root_netns, require, run_cli

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SCHEMA = spec_json_schema()
DOCS = {p.stem: yaml.safe_load(p.read_text()) for p in sorted(EXAMPLES.glob("*.yaml"))}


def doc(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "dualnet.io/v1alpha1", "kind": "TrainingNetwork",
            "metadata": {"name": "rdma-net"}, "spec": spec}


def loader_accepts(data: Any) -> bool:
    try:
        parse_spec(data)
    except UsageError:
        return False
    return True


def schema_accepts(data: Any) -> bool:
    return bool(jsonschema.Draft202012Validator(SCHEMA).is_valid(data))


@pytest.mark.parametrize(("field", "value"), [
    ("k3s", "yes"), ("k3s", 1), ("rdmaHcaMax", "100"), ("rdmaHcaMax", True), ("mtu", "9000"),
    ("numVfs", "4"), ("rdmaCni", "true"), ("mode", 1),
])
def test_spec_takes_no_coercion(field: str, value: Any) -> None:
    data = doc(**{field: value})
    assert not schema_accepts(data)
    with pytest.raises(UsageError, match=f"spec.{field}"):
        parse_spec(data)


def test_device_id_numbers_are_refused_not_reread() -> None:
    # YAML reads `deviceIDs: [0x1021]` as 4129: the loader used to take it as device 4129
    with pytest.raises(UsageError, match=r"4129 is a number.*quote"):
        parse_spec(doc(nics={"deviceIDs": [0x1021]}))
    assert parse_spec(doc(nics={"deviceIDs": ["1021"]})).spec.nics.device_ids == ["1021"]


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


def _set(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    data = copy.deepcopy(data)
    node = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return data


# Values a YAML file gives: every JSON type, the strings YAML 1.1 users expect to mean bool or
# numbers, and valid-looking values of the wrong type. Integral floats are left out on purpose:
# JSON Schema counts 100.0 as an integer, the loader refuses it (stricter, never looser).
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 70000),
    st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: not f.is_integer()),
    st.sampled_from(["yes", "no", "on", "true", "100", "9000", "0x1021", "", "auto",
                     "192.168.50.0/24", "eth0", "macvlan", "whereabouts", "sriov", "1Gi"]),
    st.text(max_size=8),
)
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=3),
                   st.dictionaries(st.sampled_from(["auto", "netdevs", "subnet", "x"]), SCALARS,
                                   max_size=2))
NEW_KEYS = st.sampled_from(["k3s", "rdmaHcaMax", "mtu", "numVfs", "rdmaCni", "rdmaCm", "vlan",
                            "pkey", "nodeCount", "sharedCni", "ipvlanMode", "nics", "ipam",
                            "images", "rdma_hca_max", "bogus"])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=st.sampled_from(sorted(DOCS)), pick=st.integers(0, 10**6), value=VALUES,
       new_key=NEW_KEYS, add=st.booleans())
def test_loader_accepts_nothing_the_schema_rejects(case: str, pick: int, value: Any,
                                                   new_key: str, add: bool) -> None:
    base = DOCS[case]
    if add:
        data = _set(base, ("spec", new_key), value)
    else:
        paths = _paths(base)[1:]
        data = _set(base, paths[pick % len(paths)], value)
    if loader_accepts(data):
        assert schema_accepts(data), json.dumps(data, default=str)


def test_every_example_passes_both() -> None:
    for name, data in DOCS.items():
        assert loader_accepts(data) and schema_accepts(data), name


def test_subnet_without_prefix_says_the_prefix_is_missing() -> None:
    with pytest.raises(UsageError) as info:
        parse_spec(doc(ipam={"subnet": "192.168.50.0"}))
    assert "spec.ipam.subnet" in info.value.message
    assert "no prefix length" in info.value.message and "192.168.50.0/24" in info.value.message
    assert "/32" not in info.value.message


GOOD_NAMES = ["eth0", "enp1s0f0np0", "ib0.8001", "net1@x", "a" * 15, "é" * 7 + "x", "-dash_"]
BAD_NAMES = ["", ".", "..", "eth:0", "a/b", "a b", "tab\tx", "a" * 16, "é" * 8, "nl\n",
             "à0"]  # U+00E0 is C3 A0 in UTF-8, and 0xA0 is space to the kernel's isspace()


@pytest.mark.parametrize("name", GOOD_NAMES)
def test_interface_names_the_kernel_takes_are_taken(name: str) -> None:
    assert is_ifname(name)
    assert parse_spec(doc(nics={"netdevs": [name]})).spec.nics.netdevs == [name]
    assert parse_steps([{"kind": "mtu", "interface": name, "mtu": 9000}])


@pytest.mark.parametrize("name", BAD_NAMES)
def test_interface_names_the_kernel_refuses_are_usage_errors(name: str) -> None:
    with pytest.raises(UsageError, match="not a valid interface name"):
        check_ifname(name, field="--protect")
    with pytest.raises(UsageError, match=r"spec\.nics\.netdevs\[0\].*dev_valid_name"):
        parse_spec(doc(nics={"netdevs": [name]}))
    with pytest.raises(UsageError, match=r"steps\[0\]\.mtu\.interface"):
        parse_steps([{"kind": "mtu", "interface": name, "mtu": 9000}])


@pytest.mark.netns
def test_interface_name_rule_is_the_kernels(tmp_path: Path) -> None:
    """Each name goes to the real kernel (a veth in a throwaway namespace): it takes exactly the
    names dualnet takes. ("" and names with NUL cannot be passed through argv at all.)"""
    require(have_root_netns(), "root and iproute2 (ip netns)")
    import os

    from dualnet.lab import netns

    ns = f"dnname-{os.getpid()}"
    netns.create_netns(ns)
    try:
        for i, name in enumerate(n for n in GOOD_NAMES + BAD_NAMES if n):
            made = subprocess.run(["ip", "-n", ns, "link", "add", "name", name, "type", "veth",
                                   "peer", "name", f"dnpeer{i}"], capture_output=True,
                                  check=False)
            assert (made.returncode == 0) == is_ifname(name), (name, made.stderr)
    finally:
        netns.delete_netns(ns)


def test_plan_output_spells_the_spec_as_the_user_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = build_sample("gh200", tmp_path / "gh200")
    spec = EXAMPLES / "gh200-shared-roce.yaml"
    for fmt, load in (("json", json.loads), ("yaml", yaml.safe_load)):
        code, out, err = run_cli(capsys, "plan", str(spec), "--root", str(root), "-o", fmt)
        assert code == 0, err
        embedded = load(out)["spec"]
        assert embedded["apiVersion"] == "dualnet.io/v1alpha1"
        assert embedded["spec"]["rdmaHcaMax"] == 100 and "rdma_hca_max" not in embedded["spec"]
        assert "pciAddresses" in embedded["spec"]["nics"]
        assert parse_spec(embedded) == parse_spec(yaml.safe_load(spec.read_text()))

"""`lspci`, `lspci -nn`, `lspci -v..` -> Nic list (network functions) and Gpu list.

Device lines: `[dddd:]bb:dd.f <class>[ [cccc]]: <vendor and device>[ [vvvv:dddd]][ (rev xx)]`.
With `-nn` the ids are read from the brackets. Plain `lspci` only names the device, so ids come
from the vendor name and the model in brackets (`host.pciids.MLX`, formats.md §5.8) or from
`Device 2342` when pci.ids did not know it; a network function whose ids cannot be recovered
(an unknown vendor's model name, or a line cut by the paste) is listed in `unresolved`, not
guessed. Indented detail lines (`-v`/`-vvv`) add the bound driver and the SR-IOV VF counts.
`lspci -PP` prints the bridge path (`00:01.0/02:00.0/03:00.0`): the last element is the function
and the others are kept as its `pci_path` (PCI topology, root first). A line that is no device
line and not a detail of one (prose, a label) is skipped with a warning.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

from dualnet.host.models import Gpu, Nic
from dualnet.host.pciids import mlx_device_id_from_lspci
from dualnet.parse._text import Line, Skipped, fail, full_pci, guarded, prepare

SOURCE = "lspci"

_ADDR = r"(?:[0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]"
_DEVICE = re.compile(
    rf"^(?P<path>(?:{_ADDR}/)*)(?P<addr>{_ADDR})\s+"
    r"(?P<cls>[^:\[]+?)(?:\s+\[(?P<code>[0-9a-fA-F]{4})\])?:\s+(?P<rest>.*)$"
)
_IDS = re.compile(r"\[(?P<v>[0-9a-fA-F]{4}):(?P<d>[0-9a-fA-F]{4})\]")
_REV = re.compile(r"\s*\((?:rev|prog-if)\s+[^)]*\)")
_DEVICE_WORD = re.compile(r"\bDevice\s+(?P<d>[0-9a-fA-F]{4})\b")
_VFS = re.compile(r"Total VFs:\s*(\d+),\s*Number of VFs:\s*(\d+)")

_CLASS_NAMES = {
    "Ethernet controller": "0x020000",
    "Network controller": "0x028000",
    "Infiniband controller": "0x020700",
    "InfiniBand controller": "0x020700",
    "3D controller": "0x030200",
    "VGA compatible controller": "0x030000",
}
_VENDORS = {
    "Mellanox Technologies": "15b3",
    "NVIDIA Corporation": "10de",
    "Intel Corporation": "8086",
    "Broadcom Inc. and subsidiaries": "14e4",
}
class LspciResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    nics: list[Nic] = Field(default_factory=list)
    gpus: list[Gpu] = Field(default_factory=list)
    unresolved: list[str] = Field(
        default_factory=list, description="network functions whose PCI ids are not in the text"
    )


def _class_code(cls: str, code: str | None) -> str | None:
    if code:
        return f"0x{code.lower()}00"
    return _CLASS_NAMES.get(cls.strip())


def _ids(rest: str) -> tuple[str | None, str | None, str | None]:
    """(vendor_id, device_id, model) from the text after the class."""
    ids = _IDS.search(rest)
    text = _REV.sub("", _IDS.sub("", rest)).strip()
    model_match = re.search(r"\[([^\]]+)\]\s*$", text)
    model = model_match.group(1) if model_match else None
    vendor = next((vid for name, vid in _VENDORS.items() if text.startswith(name)), None)
    if model is None and vendor == "15b3":
        # "MT43244 BlueField-3 integrated ConnectX-7 network controller": drop the MT number.
        model = re.sub(r"^MT\d+\s+", "", text[len("Mellanox Technologies") :].strip()) or None
    if ids:
        return ids.group("v").lower(), ids.group("d").lower(), model
    device: str | None = None
    word = _DEVICE_WORD.search(text)
    if word:
        device = word.group("d").lower()
    elif vendor == "15b3":
        tail = text[len("Mellanox Technologies") :].strip()
        device = mlx_device_id_from_lspci(model or "") or mlx_device_id_from_lspci(tail)
    return vendor, device, model


def _apply_detail(nic: Nic | None, line: Line) -> None:
    if nic is None:
        return
    s = line.stripped
    if s.startswith("Kernel driver in use:"):
        nic.driver = s.split(":", 1)[1].strip() or None
        return
    vfs = _VFS.search(s)
    if vfs:
        nic.sriov_totalvfs = int(vfs.group(1))
        nic.sriov_numvfs = int(vfs.group(2))


def _address(path: str, addr: str) -> tuple[str | None, list[str]]:
    """`-PP` path elements after the first carry no domain: they share the first one's."""
    elements = [*(p for p in path.split("/") if p), addr]
    first = full_pci(elements[0])
    domain = first[:4] if first else "0000"
    full = [e.lower() if len(e) > 7 else f"{domain}:{e.lower()}" for e in elements]
    return full_pci(full[-1]), full[:-1]


@guarded(SOURCE)
def parse_lspci(text: str) -> LspciResult:
    lines = prepare(text)
    if not lines:
        raise fail(SOURCE, "empty input")
    result = LspciResult()
    current: Nic | None = None
    in_device = False
    devices = 0
    skipped = Skipped(SOURCE, "'<bus:dev.fn> <class>: <vendor device>'")
    for line in lines:
        is_detail = line.text.startswith("\t") or (in_device and line.text.startswith("        "))
        m = None if is_detail else _DEVICE.match(line.stripped)
        if m is None:
            if in_device and (is_detail or line.text[:1].isspace()):
                _apply_detail(current, line)
                continue
            skipped.skip(line)
            in_device = False
            current = None
            continue
        in_device = True
        current = None
        devices += 1
        address, path = _address(m.group("path"), m.group("addr"))
        if address is None:  # the regex only admits PCI addresses
            raise fail(SOURCE, "bad PCI address", line)
        pci_class = _class_code(m.group("cls"), m.group("code"))
        vendor, device, model = _ids(m.group("rest"))
        if pci_class is not None and pci_class.startswith("0x03") and vendor == "10de":
            result.gpus.append(
                Gpu(
                    index=len(result.gpus),
                    pci_address=address,
                    device_id=device,
                    name=_REV.sub("", _IDS.sub("", m.group("rest"))).strip(),
                )
            )
            continue
        if pci_class is None or not pci_class.startswith("0x02"):
            continue  # bridges, storage, ...: not ours
        if any(n.pci_address == address for n in result.nics):
            raise fail(SOURCE, f"{address} listed twice", line)
        if vendor is None or device is None:
            result.unresolved.append(address)
            continue
        current = Nic(
            pci_address=address,
            vendor_id=vendor,
            device_id=device,
            pci_class=pci_class,
            model=model,
            is_vf="Virtual Function" in (model or m.group("rest")),
            pci_path=path or None,  # no -PP path printed: not known
        )
        result.nics.append(current)
    skipped.check(devices)
    # GPU<i> in nvidia-smi is PCI-address order; keep the same numbering.
    result.gpus.sort(key=lambda g: g.pci_address or "")
    for i, gpu in enumerate(result.gpus):
        gpu.index = i
    return result

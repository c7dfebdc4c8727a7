"""What the real-checkpoint profiles (``quick``, ``paper``) need on this machine, checked with no network.

``motionlib reproduce --profile quick --plan`` lists each prerequisite of the planned runs: the
families' weights (the Hugging Face cache, or the local folder a parameter file names), the
LOVEU-TGVE-2023 videos (``tgve_root`` or ``MOTIONLIB_TGVE``), the CLIP of the text-alignment score
(open_clip ViT-L-14 ``openai``), PickScore, a CUDA GPU and Ray; for each missing one, the command that
fetches it. docs/real-checkpoints.md is the same list as a checklist.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass, field
from pathlib import Path

from motionlib import families, paths
from motionlib.errors import DatasetError

PICKSCORE = ("yuvalkirstain/PickScore_v1", "laion/CLIP-ViT-H-14-laion2B-s32B-b79K")  # model, processor
REAL_CLIP = "ViT-L-14:openai"


@dataclass
class Prerequisite:
    """One thing a run needs: ``found`` says where it is or what is wrong; ``fetch``, how to get it."""

    what: str
    ok: bool
    found: str
    fetch: str
    runs: list[str] = field(default_factory=list)


def hub_snapshot_status(repo_id: str, files: tuple[str, ...] = ()) -> tuple[bool, str]:
    """Whether the Hugging Face cache holds ``repo_id`` (its ``model_index.json`` and, for a diffusers
    checkpoint, each component folder it names; else ``files``), with no network."""
    from huggingface_hub import try_to_load_from_cache

    index = try_to_load_from_cache(repo_id, "model_index.json")
    if isinstance(index, str):
        snapshot = Path(index).parent
        components = [k for k in json.loads(Path(index).read_text()) if not k.startswith("_")]
        missing = [c for c in components if not (snapshot / c).is_dir()]
        if missing:
            return False, f"cached at {snapshot}, but without {', '.join(missing)} (an interrupted download)"
        return True, f"cached at {snapshot}"
    for name in files:
        found = try_to_load_from_cache(repo_id, name)
        if isinstance(found, str):
            return True, f"cached at {Path(found).parent}"
    return False, "not in the Hugging Face cache (HF_HUB_CACHE / HF_HOME)"


def _weights(family: str, source: str) -> Prerequisite:
    spec = families.get(family).spec
    fetch = (f"hf download {spec.hub_id}   (on a machine with internet; then copy the cache, or "
             f"`hf download {spec.hub_id} --local-dir DIR` and set source: DIR)")
    if source == "hub":
        ok, found = hub_snapshot_status(spec.hub_id)
        return Prerequisite(f"{spec.title} weights ({spec.hub_id})", ok, found, fetch)
    folder = Path(source)
    ok = (folder / "model_index.json").is_file()
    found = f"folder {folder}" if ok else f"folder {folder} {'holds no model_index.json' if folder.is_dir() else 'does not exist'}"
    return Prerequisite(f"{spec.title} weights ({source})", ok, found, fetch)


def _tgve(root, videos) -> Prerequisite:
    from motionlib.data.datasets import load_tgve

    fetch = ("unpack LOVEU-TGVE-2023 (github.com/showlab/loveu-tgve-2023) and export MOTIONLIB_TGVE=/path/to/it "
             "(or set tgve_root in the parameter file)")
    root = root or paths.tgve_root()
    what = "LOVEU-TGVE-2023 videos" + ("" if videos == "all" else f" ({', '.join(videos)})")
    if not root:
        return Prerequisite(what, False, "MOTIONLIB_TGVE is not set and no tgve_root is given", fetch)
    try:
        items = load_tgve(root, videos=None if videos == "all" else list(videos))
    except DatasetError as err:
        return Prerequisite(what, False, f"under {root}: {err}", fetch)
    return Prerequisite(what, True, f"{len(items)} videos under {root}", fetch)


def _clip(spec: str) -> Prerequisite:
    import open_clip

    name, _, tag = spec.partition(":")
    cfg = open_clip.get_pretrained_cfg(name, tag) if tag else {}
    repo = (cfg.get("hf_hub") or "").rstrip("/")
    what = f"CLIP {spec} (text alignment, CLIP score)"
    if Path(tag).expanduser().is_file():
        return Prerequisite(what, True, f"checkpoint file {tag}", "")
    if not repo:
        return Prerequisite(what, False, f"open_clip knows no hub repository for {spec}",
                            "pass clip: NAME:/path/to/checkpoint")
    ok, found = hub_snapshot_status(repo, ("open_clip_model.safetensors", "open_clip_pytorch_model.bin"))
    return Prerequisite(what, ok, found, f"hf download {repo}")


def _pickscore() -> Prerequisite:
    status = [hub_snapshot_status(repo, ("config.json", "preprocessor_config.json")) for repo in PICKSCORE]
    ok = all(s[0] for s in status)
    found = "; ".join(f"{repo}: {s[1]}" for repo, s in zip(PICKSCORE, status))
    return Prerequisite(f"PickScore ({PICKSCORE[0]}, processor {PICKSCORE[1]})", ok, found,
                        " && ".join(f"hf download {repo}" for repo in PICKSCORE))


def _gpu() -> Prerequisite:
    import torch

    ok = torch.cuda.is_available()
    found = torch.cuda.get_device_name(0) if ok else "torch sees no CUDA device"
    return Prerequisite("a CUDA GPU (device: cuda)", ok, found,
                        "run on a machine with an NVIDIA GPU (docs/scale-out.md), or set device: cpu (very slow)")


def _ray() -> Prerequisite:
    try:
        ok = importlib.util.find_spec("ray") is not None
    except ValueError:  # a module entry of None: `import ray` fails
        ok = False
    return Prerequisite("Ray (executor: ray)", ok, "installed" if ok else "not installed in this environment",
                        "make .venv/.motionlib-ray   (or: pip install -r requirements/ray.lock)")


def _needs(parameters: dict) -> list[tuple]:
    """The prerequisites of one run's effective parameters (its notebook's defaults, then its own)."""
    needs = []
    source = parameters.get("source")
    real = source not in (None, "tiny", "toy") and not str(source).startswith("toy:")
    names = parameters.get("families") or ([parameters["family"]] if parameters.get("family") else [])
    if real:
        needs += [("weights", f, str(source)) for f in names]
    videos = parameters.get("videos")
    bundled = videos in (None, "bundled") or (isinstance(videos, str) and videos.partition(":")[0] in
                                              ("toy", "zigzag", "transfer"))
    if videos is not None and not bundled:
        needs.append(("tgve", parameters.get("tgve_root"), "all" if videos == "all" else tuple(videos)))
    clip = parameters.get("clip")
    if clip is not None and real and clip not in ("tiny", "toy"):
        needs.append(("clip", REAL_CLIP if clip == "auto" else clip))
    if parameters.get("pick") == "auto" and real:
        needs.append(("pick",))
    if parameters.get("device") == "cuda":
        needs.append(("gpu",))
    if parameters.get("executor") == "ray":
        needs.append(("ray",))
    return needs


def check(runs: list[tuple[str, dict]]) -> list[Prerequisite]:
    """Every prerequisite of ``runs`` (``(name, effective parameters)``: the notebook's defaults, then the
    run's own), once each, with the names of the runs needing it."""
    makers = {"weights": _weights, "tgve": _tgve, "clip": _clip, "pick": _pickscore, "gpu": _gpu, "ray": _ray}
    found: dict[tuple, Prerequisite] = {}
    for name, parameters in runs:
        for need in _needs(parameters):
            if need not in found:
                found[need] = makers[need[0]](*need[1:])
            found[need].runs.append(name)
    return list(found.values())


def print_checklist(prerequisites: list[Prerequisite]) -> int:
    """Print the checklist; returns how many are missing."""
    missing = [p for p in prerequisites if not p.ok]
    print(f"\nPrerequisites (docs/real-checkpoints.md), checked on this machine with no network: "
          f"{len(prerequisites) - len(missing)} of {len(prerequisites)} present")
    for p in prerequisites:
        runs = f"{len(p.runs)} run{'s' if len(p.runs) != 1 else ''}"
        print(f"  [{'ok' if p.ok else 'MISSING'}] {p.what} (needed by {runs}): {p.found}")
        if not p.ok:
            print(f"      fetch: {p.fetch}")
    return len(missing)

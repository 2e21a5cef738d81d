"""Comparing, kept apart from running: difference statistics in Polygraphy's terms, decisions,
matching outputs to the contract's roles, and what input range an affine map expects."""

from __future__ import annotations

import numpy as np

from soroban_vision.contract import OUTPUTS, decode
from soroban_vision.runners.base import TensorInfo

# Input ranges the normalization sweep tries; the declared one is added to them.
CANDIDATE_RANGES = [(0.0, 255.0), (0.0, 1.0), (-1.0, 1.0), (0.0, 2.0)]
# Ranges a network's first layers are usually trained on, after the model's own normalization.
CANONICAL_RANGES = [(0.0, 1.0), (-1.0, 1.0)]


def fmt_range(r) -> str:
    lo, hi = r
    return f"[{_num(lo)},{_num(hi)}]"


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def same_range(a, b, tol: float = 1e-6) -> bool:
    return (
        a is not None
        and b is not None
        and all(abs(x - y) <= tol * max(1.0, abs(y)) for x, y in zip(a, b, strict=True))
    )


# --------------------------------------------------------------------------- differences


def diff_stats(reference: np.ndarray, other: np.ndarray) -> dict:
    """Max/mean |diff| and the smallest tolerance that would pass, as Polygraphy prints it:
    an element passes when |diff| <= atol OR |diff| / |reference| <= rtol."""
    ref = np.asarray(reference, np.float64)
    out = np.asarray(other, np.float64).reshape(ref.shape)
    diff = np.abs(out - ref)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(diff == 0, 0.0, diff / np.abs(ref))
    return {
        "max_abs_diff": float(diff.max(initial=0.0)),
        "mean_abs_diff": float(diff.mean()) if diff.size else 0.0,
        "required_atol": float(diff.max(initial=0.0)),
        "required_rtol": float(rel.max(initial=0.0)),
    }


def within(stats: dict, tolerance: float) -> bool:
    return stats["required_atol"] <= tolerance or stats["required_rtol"] <= tolerance


# --------------------------------------------------------------------------- decisions


def digits(outputs: dict[str, np.ndarray], roles: dict[str, str]) -> np.ndarray:
    """The contract's decode rule on one runtime's outputs, its output names given by `roles`."""
    d, _ = decode(outputs[roles["heaven"]], outputs[roles["earth"]])
    return d


def confidences(outputs: dict[str, np.ndarray], roles: dict[str, str]) -> np.ndarray:
    _, c = decode(outputs[roles["heaven"]], outputs[roles["earth"]])
    return c


def generic_decisions(a: np.ndarray) -> np.ndarray | None:
    """A decision per item for an output without known semantics: the argmax of a class axis,
    the value itself for integer outputs, none for a single float score."""
    a = np.asarray(a)
    if a.dtype.kind in "iub":
        return a.reshape(len(a), -1) if a.ndim else a.reshape(1, 1)
    if a.ndim >= 1 and a.shape[-1] > 1:
        return a.argmax(axis=-1).reshape(a.shape[0], -1) if a.ndim > 1 else a.argmax().reshape(1, 1)
    return None


def align_outputs(reference: dict[str, np.ndarray], other: dict[str, np.ndarray]) -> dict[str, str]:
    """Pair each reference output with one of `other`'s: by name, else by a unique shape,
    else by position among what is left."""
    pairs: dict[str, str] = {}
    left = [k for k in other if k not in reference]
    for name in reference:
        if name in other:
            pairs[name] = name
    for name in reference:
        if name in pairs:
            continue
        same = [k for k in left if np.shape(other[k]) == np.shape(reference[name])]
        if len(same) == 1:
            pairs[name] = same[0]
            left.remove(same[0])
    rest = [n for n in reference if n not in pairs]
    for name, k in zip(rest, list(left), strict=False):
        if np.shape(other[k]) == np.shape(reference[name]):
            pairs[name] = k
            left.remove(k)
    return pairs


# --------------------------------------------------------------------------- roles


def role_specs(contract: dict | None) -> dict[str, dict]:
    """role -> {"name": output name the contract gives it, "shape": [...]}."""
    outputs = (contract or {}).get("outputs") or OUTPUTS
    return {
        spec.get("role", name): {"name": name, "shape": spec.get("shape")} for name, spec in outputs.items()
    }


def shape_fits(wanted, shape) -> bool:
    if wanted is None or shape is None:
        return False
    wanted, shape = list(wanted), list(shape)
    return len(wanted) == len(shape) and all(
        w is None or s is None or int(w) == int(s) for w, s in zip(wanted, shape, strict=True)
    )


def match_roles(specs: dict[str, dict], outputs: list[TensorInfo]) -> dict:
    """Map each role to an output: by name (when the shape fits too), else by a unique shape.
    Returns {"mapping": {role: name}, "how": {role: "name"|"shape"}, "unmatched": {role: why}}."""
    mapping, how, unmatched = {}, {}, {}
    by_name = {o.name: o for o in outputs}
    for role, spec in specs.items():
        o = by_name.get(spec["name"])
        if o is not None and shape_fits(spec["shape"], o.shape):
            mapping[role], how[role] = o.name, "name"
    taken = set(mapping.values())
    for role, spec in specs.items():
        if role in mapping:
            continue
        fits = [o.name for o in outputs if o.name not in taken and shape_fits(spec["shape"], o.shape)]
        named = by_name.get(spec["name"])
        if len(fits) == 1:
            mapping[role], how[role] = fits[0], "shape"
            taken.add(fits[0])
        elif len(fits) > 1:
            unmatched[role] = f"several outputs have the shape {_shape_str(spec['shape'])}: {', '.join(fits)}"
        elif named is not None:
            unmatched[role] = (
                f"output '{spec['name']}' has shape {_shape_str(named.shape)}, "
                f"the role needs {_shape_str(spec['shape'])}"
            )
        else:
            unmatched[role] = (
                f"no output is named '{spec['name']}' or has the shape {_shape_str(spec['shape'])}"
            )
    return {"mapping": mapping, "how": how, "unmatched": unmatched}


def _shape_str(shape) -> str:
    if shape is None:
        return "?"
    return "[" + ",".join("N" if d is None else str(d) for d in shape) + "]"


shape_str = _shape_str


# --------------------------------------------------------------------------- input ranges


def affine_expectation(scale, offset) -> dict:
    """What a model's own `x -> scale*x + offset` first step says about its input: the range it
    maps onto a canonical range ([0,1] or [-1,1]), or that it is the identity."""
    s = np.asarray(scale, np.float64).reshape(-1)
    o = np.asarray(offset, np.float64).reshape(-1)
    if np.allclose(s, 1.0) and np.allclose(o, 0.0):
        return {"identity": True, "expects": None, "maps_to": None}
    s, o = float(s.mean()), float(o.mean())
    for feed in CANDIDATE_RANGES[:3]:
        lo, hi = sorted((s * feed[0] + o, s * feed[1] + o))
        for target in CANONICAL_RANGES:
            if same_range((lo, hi), target, 1e-4):
                return {"identity": False, "expects": list(feed), "maps_to": list(target)}
    return {"identity": False, "expects": None, "maps_to": None}


def apply_range(x01: np.ndarray, r) -> np.ndarray:
    """An image in [0,1] mapped linearly onto the range r."""
    lo, hi = r
    return (np.float32(lo) + np.float32(hi - lo) * x01).astype(np.float32)

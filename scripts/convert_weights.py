"""Converts a PyTorch checkpoint (.pth, legacy or zip format) to safetensors.

Run by `cem convert-weights IN OUT` with the project's own Python torch (the venv made by
scripts/setup.sh); libtorch's C++ loader reads neither legacy .pth files nor PyTorch 2.x
state_dicts (an OrderedDict), so this goes through Python once and Rust reads the
safetensors file.

Takes the state_dict itself, or one nested under `params_ema`, `params` (BasicSR),
`state_dict` or `model`, or a whole pickled nn.Module; strips a `module.` prefix
(DataParallel). Prints one JSON line: {"tensors": N, "params": P, "source_key": K}.
"""
import json
import struct
import sys

import torch

DTYPES = {
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.float64: "F64",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.int16: "I16",
    torch.int8: "I8",
    torch.uint8: "U8",
    torch.bool: "BOOL",
}


def load(path, unsafe):
    try:
        return torch.load(path, map_location="cpu", weights_only=not unsafe)
    except Exception as e:  # noqa: BLE001 - the message is what the user needs
        if unsafe:
            raise
        sys.exit(
            f"error: {path}: torch.load(weights_only=True) failed: {e}\n"
            "If you trust this file, run again with --unsafe-pickle."
        )


def state_dict(obj):
    if isinstance(obj, torch.nn.Module):
        return obj.state_dict(), "module"
    if isinstance(obj, dict):
        for key in ("params_ema", "params", "state_dict", "model"):
            if key in obj and isinstance(obj[key], (dict, torch.nn.Module)):
                inner, _ = state_dict(obj[key])
                return inner, key
        return obj, ""
    sys.exit(f"error: the checkpoint holds a {type(obj).__name__}, not a state_dict")


def main():
    args = [a for a in sys.argv[1:] if a != "--unsafe-pickle"]
    if len(args) != 2:
        sys.exit("usage: convert_weights.py IN.pth OUT.safetensors [--unsafe-pickle]")
    src, dst = args
    sd, key = state_dict(load(src, "--unsafe-pickle" in sys.argv))
    tensors = {}
    for name, value in sd.items():
        if not torch.is_tensor(value):
            continue
        if name.startswith("module."):
            name = name[len("module."):]
        if value.dtype not in DTYPES:
            sys.exit(f"error: tensor {name} has unsupported dtype {value.dtype}")
        tensors[name] = value.detach().cpu().contiguous().clone()
    if not tensors:
        sys.exit(f"error: {src} holds no tensors")
    header, offset, blobs = {}, 0, []
    for name in sorted(tensors):
        t = tensors[name]
        data = bytes(t.untyped_storage()) if t.numel() else b""
        header[name] = {
            "dtype": DTYPES[t.dtype],
            "shape": list(t.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        offset += len(data)
        blobs.append(data)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * ((8 - len(head) % 8) % 8)
    with open(dst + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for b in blobs:
            f.write(b)
    import os

    os.replace(dst + ".tmp", dst)
    params = sum(t.numel() for t in tensors.values() if t.is_floating_point())
    print(json.dumps({"tensors": len(tensors), "params": params, "source_key": key}))


if __name__ == "__main__":
    main()

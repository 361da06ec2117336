"""Checks an executed notebook for failed cells: exits 1, naming each, when any failed.

evcxr marks a cell as failed only when it does not compile or its process dies; a cell
whose `?` returns an error, or that panics, prints to stderr and counts as run. Our
notebooks print nothing to stderr, so every stderr output and every error output is a
failure here, printed with the cell it came from; only libtorch's own C++ warnings
(lines that start `[W`, such as NNPACK's on CPUs it does not support) are let through.

Usage: check-notebook.py EXECUTED.ipynb
"""

import re
import sys

import nbformat

# libtorch's warnings: `[W1201 02:21:01.000000000 NNPACK.cpp:57] ...` (older: `[W NNPACK...`)
TORCH_WARNING = re.compile(r"^\[W[\d ]")


def failures(path):
    """Yields (cell number, source, text) for each failed cell of the notebook at `path`."""
    nb = nbformat.read(path, as_version=4)
    for number, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        texts = []
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                texts.append(f"{out.ename}: {out.evalue}")
            elif out.output_type == "stream" and out.name == "stderr":
                lines = [x for x in out.text.splitlines() if not TORCH_WARNING.match(x)]
                if any(x.strip() for x in lines):
                    texts.append("\n".join(lines))
        if texts:
            yield number, cell.source, "\n".join(t for t in texts if t)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: check-notebook.py EXECUTED.ipynb")
    failed = list(failures(sys.argv[1]))
    for i, (number, source, text) in enumerate(failed):
        if i == 0:
            print(f"cell {number} failed:\n{source}\n--- its error:\n{text}")
        else:
            print(f"cell {number} also failed: {text.splitlines()[0] if text else ''}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

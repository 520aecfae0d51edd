#!/usr/bin/env bash
# Files come back from a lent machine's $OUT at 16 MiB each at most (8 files, 64 MiB in all):
#   gpu_split.sh DIR            there: each file in DIR over 15 MiB becomes NAME.part00, .part01,
#                               ... and NAME.sha256 (a width-40 colorizer in float32 is 29 MB)
#   gpu_split.sh --join IN OUT  here: copies IN's files to OUT, joining the parts and checking
#                               each joined file against its sha256
# CHUNK (bytes) sets the parts' size.
set -euo pipefail
CHUNK=${CHUNK:-$((15 * 2**20))}

if [ "${1:-}" = --join ]; then
    in=$2 out=$3
    mkdir -p "$out"
    for f in "$in"/*; do
        case $f in
        *.part[0-9][0-9]|*.sha256) ;;
        *) cp "$f" "$out/" ;;
        esac
    done
    for sum in "$in"/*.sha256; do
        [ -e "$sum" ] || continue
        name=$(basename "$sum" .sha256)
        cat "$in/$name".part[0-9][0-9] > "$out/$name.tmp"
        [ "$(sha256sum "$out/$name.tmp" | cut -d' ' -f1)" = "$(cat "$sum")" ] ||
            { echo "$name: sha256 differs; parts missing?" >&2; rm "$out/$name.tmp"; exit 1; }
        mv "$out/$name.tmp" "$out/$name"
        echo "joined $name"
    done
    exit 0
fi

for f in "$1"/*; do
    [ -f "$f" ] && [ "$(stat -c %s "$f")" -gt "$CHUNK" ] || continue
    sha256sum "$f" | cut -d' ' -f1 > "$f.sha256"
    split -b "$CHUNK" -d "$f" "$f.part" && rm "$f"
    echo "split $(basename "$f") into $(ls "$f".part* | wc -l) parts"
done

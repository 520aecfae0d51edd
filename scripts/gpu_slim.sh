#!/usr/bin/env bash
# Make room for photos in a lent GPU machine's calls (64 MiB each, the working tree included):
#   gpu_slim.sh on NAME...  the shipped weights other than NAME (colorizer, restorer, ...) and
#                           docs/ stop travelling: they leave git's index (the files stay on
#                           disk) and .git/info/exclude ignores them
#   gpu_slim.sh off         puts them back (run it before any commit)
#   gpu_slim.sh status      what a call carries now besides `carry`
# A call sends tracked files and untracked ones that git does not ignore; nothing else.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
EXCLUDE=.git/info/exclude
BEGIN="# gpu_slim: begin" END="# gpu_slim: end"
size() {  # in 4 KiB blocks, as scripts/gpu_pack.py's tree_bytes counts it
    git ls-files -co --exclude-standard -z | xargs -0 -r stat -L -c '%s %F' 2>/dev/null |
        awk '/regular/ {t += int(($1 + 4095) / 4096) * 4096} END {printf "working tree %.1f MiB: %.1f MiB left per call\n",
                                      t / 2^20, 63 - t / 2^20}'
}
slimmed() { [ -f "$EXCLUDE" ] && sed -n "\|^$BEGIN\$|,\|^$END\$|{\|^#|d;p}" "$EXCLUDE" || true; }

case ${1:-status} in
on)
    shift
    [ -z "$(slimmed)" ] || { echo "already slimmed; gpu_slim.sh off first" >&2; exit 1; }
    keep=$(printf '%s\n' "$@" | sed 's|.*|neuron_desktop/weights/&.safetensors|')
    paths=$( { git ls-files 'neuron_desktop/weights/*.safetensors' | grep -vxF "$keep" || true
               git ls-files docs; } )
    [ -n "$paths" ] || { echo "nothing to leave out" >&2; exit 1; }
    git rm -q --cached -- $paths
    { echo "$BEGIN"; printf '/%s\n' $paths; echo "$END"; } >> "$EXCLUDE"
    echo "left out $(echo "$paths" | wc -l) files; $(size)" ;;
off)
    paths=$(slimmed | sed 's|^/||')
    [ -z "$paths" ] || git reset -q -- $paths
    [ -f "$EXCLUDE" ] && sed -i "\|^$BEGIN\$|,\|^$END\$|d" "$EXCLUDE"
    git diff --cached --quiet || { echo "still staged:" >&2; git diff --cached --stat >&2; }
    echo "restored; $(size)" ;;
status)
    n=$(slimmed | wc -l)
    echo "$n files left out; $(size)" ;;
*)
    echo "usage: gpu_slim.sh on NAME... | off | status" >&2; exit 2 ;;
esac

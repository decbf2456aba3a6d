#!/usr/bin/env bash
# Every executable and shared library llmrt builds or installs may only name library search paths
# that are absolute or relative to the file itself ($ORIGIN). An empty RUNPATH entry (CMake pads
# build paths with them) or a relative one is searched from the working directory, so running
# `llmrt` in a directory holding a libcrypto.so.3 would load that file into the process.
#   search_paths.sh DIR...   (each DIR is searched recursively for ELF files)
set -euo pipefail

checked=0
failed=0
while IFS= read -r -d '' file; do
  [[ "$(head -c 4 "$file" | od -An -c | tr -d ' ')" == '177ELF' ]] || continue
  checked=$((checked + 1))
  # "Library runpath: [a:b:]" / "Library rpath: [...]"
  while IFS= read -r paths; do
    IFS=':' read -r -a entries <<<"$paths"
    [[ "$paths" == *: ]] && entries+=("")
    for entry in "${entries[@]}"; do
      case "$entry" in
        /* | '$ORIGIN' | '$ORIGIN/'* | '${ORIGIN}' | '${ORIGIN}/'*) ;;
        *)
          echo "FAIL: $file searches '${entry}' (search path [$paths]), relative to the working directory" >&2
          failed=$((failed + 1))
          ;;
      esac
    done
  done < <(readelf -d "$file" | sed -n 's/.*Library r\(un\)\{0,1\}path: \[\(.*\)\]$/\2/p')
done < <(find "$@" -type f \( -perm -u+x -o -name '*.so*' \) -print0)

echo "$checked ELF files checked, $failed bad search path entries"
[[ $checked -gt 0 && $failed -eq 0 ]]

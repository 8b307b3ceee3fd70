#!/usr/bin/env bash
# catch_discover_tests splits a test case's name at ';' (a CMake list separator): each half
# then becomes a ctest test that matches no test case and passes having run nothing. This
# fails, naming them, when any test binary given has such a name.
set -euo pipefail
found=0
for binary in "$@"; do
    while IFS= read -r name; do
        case "$name" in
            *";"*) echo "$(basename "$binary"): \"$name\" holds a ';'"; found=1 ;;
        esac
    done < <("$binary" --list-test-names-only)
done
if [ "$found" -ne 0 ]; then
    echo "rename them (a comma or a colon reads as well)"
    exit 1
fi
echo "no test name holds a ';' in $# test binaries"

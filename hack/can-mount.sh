#!/usr/bin/env bash
# Prints 1 when this process may mount a tmpfs (root with CAP_SYS_ADMIN), so
# that `make test` makes the full-disk tests a failure rather than a skip
# wherever they can run. Prints nothing otherwise.
d=$(mktemp -d) || exit 0
if mount -t tmpfs -o size=1m tmpfs "$d" 2>/dev/null; then
	umount "$d" && echo 1
fi
rmdir "$d"

#!/bin/sh
# The child side (lib/child.c, lib/lockdown.c) runs between clone3 and
# execve in a copy of a process that may have other threads: it may call
# the kernel (syscall, and glibc's clone, a few lines of assembly) and pure
# functions of memory and strings, nothing that takes a lock or allocates.
# This lists what its objects import and fails on anything else.
#   child_symbols.sh LIBRINGJAIL-CHILD.a
set -eu
lib=${1:?usage: child_symbols.sh LIBRINGJAIL-CHILD.a}
allowed="syscall clone __errno_location memcpy memmove memset memcmp strlen strchr strchrnul strrchr strcpy strcmp"
[ -f "$lib" ] || { echo "FAIL: no such file $lib"; exit 1; }
defined=$(nm --defined-only "$lib" | awk 'NF == 3 { print $3 }' | sort -u)
imported=$(nm -u "$lib" | awk '{ print $2 }' | sort -u)
[ -n "$imported" ] || { echo "FAIL: $lib imports nothing: not the child's objects?"; exit 1; }
bad=""
n=0
for sym in $imported; do
  n=$((n + 1))
  case " $allowed " in *" $sym "*) continue ;; esac
  printf '%s\n' "$defined" | grep -qx "$sym" && continue
  bad="$bad $sym"
done
if [ -n "$bad" ]; then
  echo "FAIL: the child side imports functions that are not raw system calls or pure:$bad"
  exit 1
fi
echo "child side: $n imported symbols, all in the allowed set ($allowed)"

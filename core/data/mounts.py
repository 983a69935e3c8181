"""Mounts on a host (this machine for local runs, the remote host over SSH): one shell script,
run by `bash` locally or by `sh` over SSH, so both mean the same.

An optional source that is missing prints `skipped` and succeeds.
A writable host path is a symbolic link at the run's path; a read-only one (the default of VESSL's
`hostpath`) is a read-only bind mount, which needs root; `nfs://` goes through the host's
`mount -t nfs`. When the host cannot, the script exits non-zero with one sentence on stderr.
Docker does the same through its own volume options (see docker_spec).
"""

from __future__ import annotations

import shlex

from core.data.sources import Source

q = shlex.quote


def _fail(sentence: str) -> str:
    return f"{{ echo {q(sentence)} >&2; exit 3; }}"


def mount_script(source: Source, target: str, readonly: bool, optional: bool = False, cluster: str = "") -> str:
    """Shell that makes `source` (kind local or nfs) visible at `target`; idempotent for retries."""
    t = q(target)
    lines = ["set -e", f'mkdir -p "$(dirname {t})"']
    root_test = f'[ "$(id -u)" = 0 ] || ' + _fail(
        f"a read-only mount of {source.uri} on cluster {cluster} needs root (a bind mount); "
        "run as root there or set `readonly: false`.")
    if source.kind == "nfs":
        lines += [
            "command -v mount.nfs >/dev/null 2>&1 || " + _fail(
                f"cannot mount {source.uri} on cluster {cluster}: the host has no NFS client (install nfs-common)."),
            f'[ "$(id -u)" = 0 ] || ' + _fail(f"mounting {source.uri} on cluster {cluster} needs root."),
            f"mountpoint -q {t} && exit 0",
            f"mkdir -p {t}",
            f"mount -t nfs -o {'ro' if readonly else 'rw'} {q(source.location)} {t} 2>&1 | tail -n1 >&2; "
            f"mountpoint -q {t} || " + _fail(f"the NFS mount of {source.uri} failed on cluster {cluster}."),
        ]
        return "\n".join(lines) + "\n"
    s = q(source.location)
    missing = "{ echo skipped; exit 0; }" if optional else _fail(f"mount source {source.location} does not exist; create it or fix `{source.uri}`.")
    lines.append(f"[ -e {s} ] || {missing}")
    if not readonly:
        lines.append(f"[ -e {t} ] || [ -L {t} ] || ln -s {s} {t}")
        return "\n".join(lines) + "\n"
    lines += [
        root_test,
        f"mountpoint -q {t} && exit 0",
        f"if [ -d {s} ]; then mkdir -p {t}; else touch {t}; fi",
        f"mount --bind {s} {t}",
        f"mount -o remount,bind,ro {t} || {{ umount {t}; " + _fail(f"cannot make the mount of {source.uri} read-only.")[2:],
    ]
    return "\n".join(lines) + "\n"


def unmount_script(targets: list[str]) -> str:
    """Shell that unmounts each of `targets` that is a mount point (never fails)."""
    return "".join(f"mountpoint -q {q(t)} && umount -l {q(t)}; " for t in targets) + "true\n"

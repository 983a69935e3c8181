"""Data in and out of runs: one meaning for every source URI of a spec, on every backend.

    sources.parse(uri, ref, base)      -> Source   what a URI names (local, git, object, registry, nfs…)
    sources.problem(volume, cluster)   -> str|None one sentence when a cluster cannot do a volume
    imports.fetch(volume, dest, ctx)               an import materialised into a folder on this machine
    mounts.mount_script(...)                       shell that mounts a host path / NFS at a path
    exports.deliver(ctx)               -> results  each export uploaded to its destination
    objstore                                       s3:// gs:// hf:// through fsspec (lazy imports)
    registry                                       vessl-dataset/model/artifact:// versions
    git.clone(url, ref, dest)                      clone, then check out the ref (a SHA works)

Backends only say where the folder is (a local path, a container volume, a path over SSH). Heavy
SDKs (s3fs, gcsfs, huggingface_hub) are imported only when a run uses them.
"""

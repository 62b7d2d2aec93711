"""Runs a WASI preview2 component in wasmtime (PyPI `wasmtime`, its component API), as a host.

    run_component.py run COMPONENT DIR [ARGS...]     wasi:cli/run with DIR preopened as /data,
                                                     the environment variables named in
                                                     $PASS_ENV (comma-separated) passed on,
                                                     stdout and stderr inherited; exits 0 when
                                                     run returns ok, 1 on error, the guest's
                                                     status when it exits
    run_component.py invoke COMPONENT EXPORT FUNC [ARG...]
                                                     calls FUNC of the exported instance EXPORT
                                                     (or the top-level function FUNC when EXPORT
                                                     is "-") with integer or string arguments and
                                                     prints its result with repr(); $CALLS
                                                     calls it that many times, $ARG_REPEAT
                                                     repeats the last argument
"""
import os
import sys

import wasmtime
from wasmtime import component


def instantiate(path, wasi):
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    store.set_wasi(wasi)
    linker = component.Linker(engine)
    linker.add_wasip2()
    comp = component.Component.from_file(engine, path)
    return store, linker.instantiate(store, comp)


def func(store, instance, export, name):
    parent = None
    if export != "-":
        parent = instance.get_export_index(store, export)
        if parent is None:
            sys.exit(f"no export {export}")
    index = instance.get_export_index(store, name, parent)
    if index is None:
        sys.exit(f"no function {name} in {export}")
    return instance.get_func(store, index)


def run(path, directory, args):
    wasi = wasmtime.WasiConfig()
    wasi.argv = [os.path.basename(path), *args]
    names = [n for n in os.environ.get("PASS_ENV", "").split(",") if n]
    wasi.env = [(n, os.environ[n]) for n in names if n in os.environ]
    wasi.preopen_dir(directory, "/data")
    wasi.inherit_stdout()
    wasi.inherit_stderr()
    wasi.inherit_stdin()
    store, instance = instantiate(path, wasi)
    f = func(store, instance, "wasi:cli/run@0.2.0", "run")
    try:
        result = f(store)
    except wasmtime.ExitTrap as e:
        sys.stdout.flush()
        os._exit(e.code)
    f.post_return(store)
    return 0 if result.tag == "ok" else 1


def invoke(path, export, name, args):
    wasi = wasmtime.WasiConfig()
    wasi.inherit_stdout()
    wasi.inherit_stderr()
    store, instance = instantiate(path, wasi)
    f = func(store, instance, export, name)
    params = [int(a) if a.lstrip("-").isdigit() else a for a in args]
    if os.environ.get("ARG_REPEAT"):
        # The last argument repeated: a long string, to pass more than one call's worth of
        # arguments through the guest's allocator.
        params[-1] = params[-1] * int(os.environ["ARG_REPEAT"])
    for _ in range(int(os.environ.get("CALLS", "1"))):
        result = f(store, *params)
        f.post_return(store)
    print(repr(result))
    return 0


if __name__ == "__main__":
    mode, path, *rest = sys.argv[1:]
    if mode == "run":
        sys.exit(run(path, rest[0], rest[1:]))
    sys.exit(invoke(path, rest[0], rest[1], rest[2:]))

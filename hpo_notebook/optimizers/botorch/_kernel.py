"""Load BoTorch's fused qLogEHVI/qLogNEHVI kernel without ever holding up a proposal.

BoTorch compiles a C++ kernel for ``_compute_log_qehvi`` the first time a qLogEHVI or
qLogNEHVI acquisition is constructed (``logei._try_load_fused_kernel``). torch's JIT loader
takes a file lock (``<build dir>/lock``) for that, even when the build is cached, and waits
with no time limit while the file exists. A process killed mid-compile (a notebook kernel
restarted during a study's first minute) leaves the file behind, and every later process that
constructs one of those acquisitions then waits forever.

:func:`ensure_nonblocking` takes loading away from the acquisition constructors. It marks
BoTorch's loader as done, so acquisitions use BoTorch's pure PyTorch path while no kernel is
loaded, and loads the kernel on one daemon thread: that thread waits on a held lock by
polling, removes a lock older than any build (:data:`MAX_LOCK_AGE_S`), and compiles if it
must. A loaded kernel is handed to BoTorch the next time :func:`ensure_nonblocking` runs (just
before an acquisition is built), so one proposal never switches paths halfway through its
optimization; the two paths agree to about 1e-15, not bit for bit.

A compile, when one is needed, runs in a detached process of its own, so a study process that
ends (a short script, a restarted kernel) never leaves a half-done build and its lock behind;
only a build killed from outside does, and later processes then use the pure path until the
lock is :data:`MAX_LOCK_AGE_S` old, then remove it and build.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Any

log = logging.getLogger(__name__)

#: BoTorch's name for the extension (its build directory and module name).
EXTENSION = "logei_fused_ext"
#: A build lock older than this is left by a killed compile (a build takes about a minute).
MAX_LOCK_AGE_S = 600.0
#: How often the loader looks at a held lock.
POLL_S = 1.0
#: The longest a proposal waits for a load that looked cached (a cached load takes ~0.1 s).
SETTLE_S = 5.0


def ensure_nonblocking(wait_s: float = SETTLE_S) -> None:
    """Make BoTorch acquisitions safe to construct now, and start loading the kernel.

    Call before building any BoTorch acquisition; idempotent and thread-safe. Waits at most
    ``wait_s`` seconds, and only the first time and only while the kernel looks cached, so
    that proposals in a process with a built kernel all use it (same seed, same proposals).
    Never waits on a compiler or a held lock. Does nothing with a BoTorch that has no fused
    kernel.
    """
    loader = _loader()
    if loader is not None:
        loader.ensure(wait_s)


def start_loading() -> None:
    """Start loading the kernel in the background and return at once (for warm-ups).

    Does not hand the kernel to BoTorch: a proposal may be running on another thread, and it
    should not switch paths halfway (:func:`ensure_nonblocking` does that before the next one).
    """
    loader = _loader()
    if loader is not None:
        loader.start()


def lock_path(name: str = EXTENSION) -> Path:
    """The build lock torch's JIT loader takes for extension ``name`` (honours
    ``TORCH_EXTENSIONS_DIR``)."""
    from torch.utils.cpp_extension import _get_build_directory

    return Path(_get_build_directory(name, verbose=False)) / "lock"


def clear_stale_lock(name: str = EXTENSION, max_age_s: float = MAX_LOCK_AGE_S) -> bool:
    """Remove extension ``name``'s build lock if it is older than ``max_age_s`` seconds.

    Returns:
        Whether a lock was removed. Errors are logged at debug level, never raised: this
        runs beside studies and relies on a private torch helper.
    """
    try:
        lock = lock_path(name)
        age = time.time() - lock.stat().st_mtime
        if age <= max_age_s:
            return False  # a build may be running
        lock.unlink()
    except FileNotFoundError:
        return False  # no lock, or its build finished in the meantime
    except Exception:
        log.debug("could not check %s's build lock", name, exc_info=True)
        return False
    log.warning(
        "removed a stale build lock (%.0f min old) left by a killed compile: %s", age / 60, lock
    )
    return True


def prebuild() -> str:
    """Build the kernel now if it is not built, for set-up (``hpo-notebook build-kernel``).

    Unlike BoTorch's own loader, never waits without a limit: a held build lock is waited on
    only until it is :data:`MAX_LOCK_AGE_S` old, then removed as left by a killed compile.
    Never raises: without a compiler, studies use BoTorch's PyTorch path.

    Returns:
        A one-line report: ``"built"``, ``"ready"`` (it looked built; torch's loader may
        still have refreshed it), ``"not needed"`` (a BoTorch with no fused kernel) or
        ``"not built: <reason>"``.

    Example (what ``hpo-notebook build-kernel`` prints; a compile takes a minute)::

        $ hpo-notebook build-kernel
        BoTorch's fused log-EHVI kernel: ready
    """
    try:
        from botorch.acquisition.multi_objective import logei
    except ImportError:
        return "not needed"
    if not (hasattr(logei, "_load_attempted") and hasattr(logei, "_C")):
        return "not needed"
    try:
        lock = lock_path()
        built = _looks_built(lock.parent, EXTENSION, build_kwargs(logei)["sources"][0])
        kernel = _Loader(logei)._build()
        if not _is_kernel(kernel):
            return "not built: the built module is not the kernel"
    except Exception as exc:  # a set-up step reports; studies keep the pure path
        return f"not built: {exc}"
    return "ready" if built else "built"


class _Loader:
    """Loads the kernel for one ``logei`` module, on one daemon thread.

    Args:
        logei: ``botorch.acquisition.multi_objective.logei`` (or a stand-in in tests).
        name: the extension's name.
        max_lock_age_s: age at which a held build lock counts as left by a killed compile.
        poll_s: how often a held lock is looked at again.
    """

    def __init__(
        self,
        logei: Any,
        name: str = EXTENSION,
        max_lock_age_s: float = MAX_LOCK_AGE_S,
        poll_s: float = POLL_S,
    ) -> None:
        self.logei = logei
        self.name = name
        self.max_lock_age_s = max_lock_age_s
        self.poll_s = poll_s
        self.kernel: ModuleType | None = None
        #: Set when the load is over (loaded or failed).
        self.done = threading.Event()
        #: Set when the load is over or will not be over soon (a compile, a held lock).
        self.settled = threading.Event()
        self._mutex = threading.Lock()
        self._started = False

    def start(self) -> None:
        """Take over BoTorch's loader and start the loading thread (once)."""
        with self._mutex:
            if self._started:
                return
            self._started = True
            if self.logei._load_attempted:
                # BoTorch's own loader ran already (e.g. the Makefile's pre-compile in this
                # process): its kernel, or its failure, stands.
                self.done.set()
                self.settled.set()
                return
            # From here on BoTorch's constructors skip their blocking loader.
            self.logei._load_attempted = True
        threading.Thread(target=self._run, name="hpo-kernel-load", daemon=True).start()

    def ensure(self, wait_s: float) -> None:
        """:meth:`start`, wait up to ``wait_s`` for a cached load, hand a loaded kernel over."""
        self.start()
        if not self.settled.wait(wait_s):
            # a load that looked cached is slow (ninja rebuilding, a busy machine): let this
            # and later proposals go on without it
            self.settled.set()
        if self.kernel is not None and self.logei._C is None:
            self.logei._C = self.kernel

    def _run(self) -> None:
        try:
            try:
                # BoTorch's first choice too: a pre-built extension (Buck builds)
                import logei_fused_ext  # type: ignore[import-not-found]

                if not _is_kernel(logei_fused_ext):
                    raise ImportError("not the kernel")
                self.kernel = logei_fused_ext
            except ImportError:
                self.kernel = self._build()
        except Exception:  # no compiler, no ninja, a failed build: the pure path stays
            log.debug("BoTorch's fused kernel did not load; using its PyTorch path", exc_info=True)
        finally:
            self.done.set()
            self.settled.set()

    def _build(self) -> ModuleType:
        """Wait for a held lock (removing a stale one), have a compile done by a process of
        its own if one is needed, then load the built kernel."""
        from torch.utils.cpp_extension import load

        lock = lock_path(self.name)
        self._wait_for_lock(lock)
        kwargs = build_kwargs(self.logei)
        if not _looks_built(lock.parent, self.name, kwargs["sources"][0]):
            self.settled.set()  # a compile lies ahead: proposals go on without the kernel
            # Compiled in this process, on this daemon thread, a build would die with the
            # process (a short script, a restarted kernel) and leave its lock behind for every
            # later process: a detached process finishes it and lets the lock go.
            _build_detached()
            self._wait_for_lock(lock)
            if not _looks_built(lock.parent, self.name, kwargs["sources"][0]):
                raise RuntimeError("the fused kernel did not build (no compiler or ninja?)")
        # Built: load() only checks (if another process takes the lock meanwhile, load()
        # waits on it without a limit; only this daemon thread waits).
        return load(**kwargs)

    def _wait_for_lock(self, lock: Path) -> None:
        while lock.exists() and not clear_stale_lock(self.name, self.max_lock_age_s):
            self.settled.set()  # another process builds, or died building: don't wait for it
            time.sleep(self.poll_s)


def build_kwargs(logei: Any) -> dict[str, Any]:
    """``torch.utils.cpp_extension.load``'s arguments exactly as BoTorch's loader passes them:
    the same name, source path and flags reuse (and do not invalidate) its build cache."""
    source = os.path.join(
        os.path.dirname(logei.__file__), os.pardir, os.pardir, "csrc", "logei_fused.cpp"
    )
    return {
        "name": EXTENSION,
        "sources": [os.path.abspath(source)],
        "extra_cflags": ["-O3", "-march=native"],
        "verbose": False,
    }


def _looks_built(build_dir: Path, name: str, source: str) -> bool:
    """Whether ``build_dir`` holds a library built from ``source`` and newer than it (then
    load() only checks). A build from another installation's source (another virtual
    environment sharing torch's extension folder) does not count: load() would rebuild."""
    try:
        newest = max(
            (p.stat().st_mtime for p in build_dir.glob(f"{name}.*") if p.suffix in (".so", ".pyd")),
            default=None,
        )
        if newest is None or newest < os.stat(source).st_mtime:
            return False
        return source in (build_dir / "build.ninja").read_text()
    except OSError:
        return False


#: Run by :func:`_build_detached`: torch's loader with BoTorch's arguments, which compiles
#: when needed (not BoTorch's own loader: it would take any ``logei_fused_ext`` folder on
#: ``sys.path``, the build folder included, for the kernel).
_BUILD = (
    "from botorch.acquisition.multi_objective import logei; "
    "from torch.utils.cpp_extension import load; "
    "from hpo_notebook.optimizers.botorch._kernel import build_kwargs; "
    "load(**build_kwargs(logei))"
)


def _build_detached() -> None:
    """Compile the kernel in a new process and session, and wait for it. The process outlives
    this one if this one ends first, so the build completes and its lock is released either
    way (and a kernel interrupt, sent to this process's group, does not reach it)."""
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-c", _BUILD],
        cwd=os.path.dirname(sys.executable),  # not a folder that holds a build folder
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    proc.wait()


_LOADER: _Loader | None = None
_LOADER_MUTEX = threading.Lock()


def _is_kernel(module: ModuleType) -> bool:
    """Whether ``module`` is the compiled kernel: a folder named like it on ``sys.path`` (the
    build folder itself, when the working directory is torch's extension root) imports as an
    empty namespace package, and BoTorch would then fail in every proposal."""
    return callable(getattr(module, "forward", None)) and callable(
        getattr(module, "backward", None)
    )


def _loader() -> _Loader | None:
    """This process's loader, or None when BoTorch has no fused kernel to load."""
    global _LOADER
    with _LOADER_MUTEX:
        if _LOADER is None:
            try:
                from botorch.acquisition.multi_objective import logei
            except ImportError:
                return None
            if not (hasattr(logei, "_load_attempted") and hasattr(logei, "_C")):
                return None  # a BoTorch from before the fused kernel
            _LOADER = _Loader(logei)
        return _LOADER

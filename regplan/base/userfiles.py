"""The one file layer: every read and write of a user path goes through here.

Why one layer: a path a user (or a pull request) hands regplan may be a symlink to somewhere else, a FIFO
that blocks a reader forever, a device, a directory, or a tree someone else owns. Each reader and writer
checking for that on its own drifted (issue 16). The rules, once:

**Reads** (``read_regular``): regular files only. The file is opened with ``O_NONBLOCK`` (a FIFO must not
block the open) and checked with ``fstat`` on the open descriptor (no race between a check and the open):
a FIFO, socket, device or directory is refused with a message that says which it is (exit 3). At most
``max_bytes + 1`` bytes are read. A read may follow symlinks (a ``~/.kube/config`` link is normal) unless
it is a read *inside a root* (``Root.read``), which never does.

**Roots** (``Root``): a directory regplan writes under (an ``--out-dir``, a workspace's ``rendered/``, a
plan directory, ``golden/``). Which directory is the root: a relative path is rooted at the working
directory and every component of it is inside the root; an absolute path (or one that climbs out with
``..``) is rooted at its parent directory, which is the user's own choice. Inside a root, no symlink is
ever followed: every directory is opened with ``O_NOFOLLOW | O_DIRECTORY`` relative to its parent's
descriptor (``openat``), every file with ``O_NOFOLLOW``, so a symlink anywhere on the way - even one
swapped in between two steps - is refused, naming it (exit 3), never followed out of the root.

**Writes** (``Changes``): atomic per command. A command collects every file it will write and every file
it will remove, then ``commit`` validates them all (no symlink, no directory or FIFO where a file goes),
writes each new file into a temporary file beside its destination, and only when every one was written
renames them into place (``renameat``) and performs the removals. A failure before the renames leaves
nothing behind. A file is created 0600 when it holds a secret.

**Removals**: regplan removes only what it wrote. Callers name the files to remove from their own record
of what they wrote (a ``kustomization.yaml`` that regplan wrote lists its files, ``output.owned_files``);
``Changes.remove`` refuses a symlink or a directory, and ``remove_dir`` removes a directory only when it
is empty once regplan's files are gone (a hand-written file keeps it).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from regplan.base.errors import InvalidInput, UnreadableInput
from regplan.base.escape import quoted
from regplan.base.record import Record, field

# The largest file regplan reads back from a tree it wrote (a rendered manifest is ~1 KB).
TREE_FILE_BYTES = 1024 * 1024
TEMP_PREFIX = ".regplan-tmp-"

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


class FileRefused(InvalidInput):
    """A user path regplan will not read or write (a symlink, a FIFO, a directory, outside its root)."""


# File types by ``st_mode``: the test, the name code matches on (``UnreadableInput.kind``), the words
# messages use.
KINDS: tuple[tuple[str, str, str], ...] = (
    ("S_ISDIR", "dir", "a directory"),
    ("S_ISFIFO", "fifo", "a FIFO (named pipe)"),
    ("S_ISSOCK", "socket", "a socket"),
    ("S_ISCHR", "char-device", "a character device"),
    ("S_ISBLK", "block-device", "a block device"),
    ("S_ISLNK", "symlink", "a symlink"),
    ("S_ISREG", "file", "a regular file"),
)
FILE_KINDS = frozenset(name for _, name, _ in KINDS)


# ``Root.kind``'s answers other than ``file``, in the words a refusal uses ("is a symlink").
KIND_WORDS: dict[str, str] = {"symlink": "a symlink", "dir": "a directory", "other": "not a regular file"}


def kind_words(kind: str) -> str:
    """``Root.kind``'s answer for what is not a regular file, in words: ``is {kind_words(k)}``."""
    return KIND_WORDS.get(kind, "not a regular file")


def kind_of(mode: int) -> str:
    """What a file is, in words (``a FIFO (named pipe)``)."""
    return next((words for test, _, words in KINDS if getattr(stat, test)(mode)), "not a regular file")


def kind_name(mode: int) -> str:
    """What a file is, as a name in FILE_KINDS (``fifo``), or ``other``."""
    return next((name for test, name, _ in KINDS if getattr(stat, test)(mode)), "other")


# --- reads --------------------------------------------------------------------------------------------


def _read_fd(fd: int, shown: str, what: str, max_bytes: int) -> bytes:
    """The content of an open descriptor that must be a regular file, at most ``max_bytes + 1`` bytes."""
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            problem = f"cannot read {what}: it is {kind_of(st.st_mode)}, not a regular file"
            raise UnreadableInput(shown, problem, kind=kind_name(st.st_mode))
        os.set_blocking(fd, True)  # a regular file: reads do not block on O_NONBLOCK anyway
        chunks: list[bytes] = []
        left = max_bytes + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_regular(path: Path, *, what: str, max_bytes: int, source: str | None = None) -> bytes:
    """At most ``max_bytes + 1`` bytes of a regular file (symlinks to one are followed: this is a path the
    user named, not a path inside a tree regplan writes). A FIFO, device or directory is refused without
    blocking. Errors name ``source`` (default: the path) and ``what`` ("values file", "plan file")."""
    shown = str(path) if source is None else source
    try:
        fd = os.open(path, os.O_RDONLY | _NONBLOCK | _CLOEXEC)
    except OSError as err:
        raise UnreadableInput(shown, f"cannot read {what}: {err.strerror or err}") from None
    return _read_fd(fd, shown, what, max_bytes)


def dir_problem(path: Path) -> str | None:
    """Why ``path``, a directory the user named to read from (``--profiles-dir``), is not one, in the file
    layer's words (``is a FIFO (named pipe), not a directory``; ``is a symlink to a regular file, not a
    directory``; ``no such directory``), or None when it is one. A symlink to a directory is followed, as
    ``read_regular`` follows one to a file. Only stat'ed, never opened: a FIFO cannot block."""
    try:
        link = stat.S_ISLNK(os.lstat(path).st_mode)
    except FileNotFoundError:
        return "no such directory"
    except OSError as err:
        return f"cannot read the directory: {err.strerror or err}"
    try:
        mode = os.stat(path).st_mode
    except OSError as err:
        if link and isinstance(err, FileNotFoundError):
            return f"is a symlink to {_link_target(path)}, which does not exist"
        return f"cannot read the directory: {err.strerror or err}"  # a loop of symlinks, a permission
    if stat.S_ISDIR(mode):
        return None
    return ("is a symlink to " if link else "is ") + f"{kind_of(mode)}, not a directory"


def _link_target(path: Path) -> str:
    try:
        return quoted(os.readlink(path))
    except OSError:
        return "?"


def not_a_file(path: Path) -> str:
    """Why ``path`` (symlinks followed, as ``read_regular`` reads it) is not a regular file, in the file
    layer's words for ``f"{path}: {words}"`` (as ``dir_problem`` says it of a directory); "" when it is one.
    One wording for every "is it there?" check of a file the user named, so a FIFO or a directory is never
    reported as "no such file". Only stat'ed, never opened."""
    try:
        link = stat.S_ISLNK(os.lstat(path).st_mode)
    except FileNotFoundError:
        return "no such file"
    except OSError as err:
        return f"cannot read the file: {err.strerror or err}"
    try:
        mode = os.stat(path).st_mode
    except OSError as err:
        if link and isinstance(err, FileNotFoundError):
            return f"is a symlink to {_link_target(path)}, which does not exist"
        return f"cannot read the file: {err.strerror or err}"  # a loop of symlinks, a permission
    if stat.S_ISREG(mode):
        return ""
    return ("is a symlink to " if link else "is ") + f"{kind_of(mode)}, not a regular file"


def inside(root: Path, path: Path) -> bool:
    """Is ``path`` (symlinks resolved) inside ``root`` (resolved)? For reads the docs confine to a root."""
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # a symlink loop
        return False


# --- roots --------------------------------------------------------------------------------------------


NAME_MAX = 255  # bytes in one file name (Linux, macOS)


def _parts(rel: str) -> tuple[str, ...]:
    parts = PurePosixPath(rel).parts
    if not parts or any(p in ("", ".", "..") or "/" in p or "\0" in p for p in parts) or rel.startswith("/"):
        raise FileRefused(f"{quoted(rel)}: not a path inside the directory regplan writes")
    return parts


class Root(Record):
    """A directory regplan reads and writes under without following a symlink (see the module docstring).

    ``path``: the root itself, as the user reached it (its own ancestors may be symlinks: that is the
    user's choice); ``shown``: how messages name it. Paths below are relative, ``/``-separated.
    """

    path: Path
    shown: str

    @classmethod
    def for_path(cls, target: Path) -> tuple[Root, str]:
        """The root and the relative path under it for a path the user named (see the module docstring):
        a relative path without ``..`` is under the working directory, anything else under its parent."""
        parts = target.parts
        if not target.is_absolute() and parts and ".." not in parts:
            clean = [p for p in parts if p != "."]
            if clean:
                return cls(Path("."), "."), "/".join(clean)
        absolute = Path(os.path.abspath(target))
        if absolute.parent == absolute:
            raise FileRefused(f"{target}: regplan does not write the file system root")
        return cls(absolute.parent, str(absolute.parent)), absolute.name

    @classmethod
    def under(cls, base: Path, target: Path) -> tuple[Root, str]:
        """``target`` under the root ``base`` when it lies there (a workspace's ``rendered/``), so every
        component below ``base`` is walked without following a symlink; else ``for_path(target)``."""
        try:  # both as the working directory sees them (a relative target is relative to it, not to base)
            rel = Path(os.path.abspath(target)).relative_to(os.path.abspath(base))
        except ValueError:
            return cls.for_path(target)
        if str(rel) in ("", ".") or ".." in rel.parts:
            return cls.for_path(target)
        return cls(base, str(base)), rel.as_posix()

    def show(self, rel: str) -> str:
        """``rel`` as messages name it: one line (a name found on disk may hold a line break, which would
        print a line of its own: "removed rendered/x" then a forged one)."""
        from regplan.base.escape import one_line

        return one_line(rel if self.shown == "." else f"{self.shown.rstrip('/')}/{rel}")

    # -- directories

    def _open_root(self) -> int:
        try:
            return os.open(self.path, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
        except OSError as err:
            raise FileRefused(f"{self.shown}: cannot open the directory: {err.strerror or err}") from None

    def _step(
        self, fd: int, name: str, shown: str, *, create: bool, created: list[str] | None = None
    ) -> int | None:
        """``name`` under the directory ``fd``, opened as a directory without following a symlink;
        ``created`` collects the directories made (relative), so a failed commit can remove them."""
        try:
            return os.open(name, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC, dir_fd=fd)
        except FileNotFoundError:
            if not create:
                return None
            try:
                os.mkdir(name, 0o777, dir_fd=fd)
                if created is not None:
                    created.append(shown)
            except FileExistsError:
                pass
            except OSError as err:
                raise FileRefused(
                    f"{self.show(shown)}: cannot create the directory: {err.strerror or err}"
                ) from None
            return self._step(fd, name, shown, create=False)
        except OSError as err:
            if err.errno in (errno.ELOOP, errno.ENOTDIR):
                raise FileRefused(self._refusal(fd, name, self.show(shown), "a directory")) from None
            why = err.strerror or err
            raise FileRefused(f"{self.show(shown)}: cannot open the directory: {why}") from None

    def _refusal(self, fd: int, name: str, shown: str, wanted: str) -> str:
        try:
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except OSError:
            return f"{shown}: not {wanted}"
        if stat.S_ISLNK(st.st_mode):
            try:  # what a link says is anyone's text (a pull request's): quoted by the one rule
                to = quoted(os.readlink(name, dir_fd=fd))
            except OSError:
                to = "?"
            return (
                f"{shown}: is a symlink (to {to}); regplan does not follow symlinks in the directories it "
                f"writes and reads back: replace it with {wanted}"
            )
        return f"{shown}: is {kind_of(st.st_mode)}, not {wanted}"

    def check_dir(self, rel: str) -> bool:
        """Whether the directory ``rel`` exists (``""``: the root), walked as every read and write walks it:
        a symlink, a FIFO or a file on the way or there is refused (FileRefused naming what it is), never
        followed or opened. For the options naming a directory, checked before any work."""
        fd = self.open_dir(rel, create=False)
        if fd is None:
            return False
        os.close(fd)
        return True

    def open_dir(self, rel: str, *, create: bool, created: list[str] | None = None) -> int | None:
        """A descriptor of the directory ``rel`` (``""``: the root); None when it does not exist and
        ``create`` is false. The caller closes it."""
        fd = self._open_root()
        if not rel:
            return fd
        walked: list[str] = []
        for part in _parts(rel):
            walked.append(part)
            try:
                nxt = self._step(fd, part, "/".join(walked), create=create, created=created)
            finally:
                os.close(fd)
            if nxt is None:
                return None
            fd = nxt
        return fd

    # -- reads inside the root

    def entries(self, rel: str) -> list[tuple[str, str]] | None:
        """(name, kind) of the entries of directory ``rel`` sorted by name; kind is ``file``, ``dir``,
        ``symlink`` or ``other``. None when the directory does not exist."""
        fd = self.open_dir(rel, create=False)
        if fd is None:
            return None
        try:
            out = []
            with os.scandir(fd) as it:
                for e in it:
                    if e.name.startswith(TEMP_PREFIX):
                        continue  # a leftover of an interrupted commit: not content
                    kind = (
                        "symlink"
                        if e.is_symlink()
                        else "dir"
                        if e.is_dir(follow_symlinks=False)
                        else "file"
                        if e.is_file(follow_symlinks=False)
                        else "other"
                    )
                    out.append((e.name, kind))
            return sorted(out)
        finally:
            os.close(fd)

    def read(
        self, rel: str, *, what: str, max_bytes: int = TREE_FILE_BYTES, larger: str = "refuse"
    ) -> bytes | None:
        """A regular file inside the root, no symlink followed; None when it does not exist. A file larger
        than ``max_bytes`` is refused, or with ``larger="cut"`` its first ``max_bytes + 1`` bytes are
        returned (the caller sees it is larger: a tree regplan writes holds no such file, so a reader that
        compares with what it renders takes it as differing instead of refusing to repair it)."""
        *dirs, name = _parts(rel)
        fd = self.open_dir("/".join(dirs), create=False)
        if fd is None:
            return None
        try:
            try:
                ffd = os.open(name, os.O_RDONLY | _NOFOLLOW | _NONBLOCK | _CLOEXEC, dir_fd=fd)
            except FileNotFoundError:
                return None
            except OSError as err:
                if err.errno == errno.ELOOP:
                    raise FileRefused(self._refusal(fd, name, self.show(rel), "a regular file")) from None
                raise FileRefused(f"{self.show(rel)}: cannot read {what}: {err.strerror or err}") from None
        finally:
            os.close(fd)
        data = _read_fd(ffd, self.show(rel), what, max_bytes)
        if len(data) > max_bytes and larger != "cut":
            raise FileRefused(f"{self.show(rel)}: {what} larger than {max_bytes} bytes")
        return data

    def is_file(self, rel: str) -> bool:
        """Whether ``rel`` is a regular file (False: absent); anything else there - a symlink, a directory,
        a FIFO, a device - or a symlink on the way is refused (FileRefused naming what it is), never
        followed or opened."""
        kind = self.kind(rel)  # refuses a symlinked parent
        if kind in ("file", None):
            return kind == "file"
        *dirs, name = _parts(rel)
        fd = self.open_dir("/".join(dirs), create=False)
        assert fd is not None
        try:
            raise FileRefused(self._refusal(fd, name, self.show(rel), "a regular file"))
        finally:
            os.close(fd)

    def kind(self, rel: str) -> str | None:
        """``file``, ``dir``, ``symlink``, ``other`` or None (absent) for ``rel``; its parents are walked
        without following a symlink (one there is refused)."""
        *dirs, name = _parts(rel)
        fd = self.open_dir("/".join(dirs), create=False)
        if fd is None:
            return None
        try:
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            return None
        except OSError as err:
            raise FileRefused(f"{self.show(rel)}: {err.strerror or err}") from None
        finally:
            os.close(fd)
        if stat.S_ISLNK(st.st_mode):
            return "symlink"
        return "dir" if stat.S_ISDIR(st.st_mode) else "file" if stat.S_ISREG(st.st_mode) else "other"


# --- writes -------------------------------------------------------------------------------------------


class Changes(Record):
    """What one command writes and removes under a root, committed at once (see the module docstring)."""

    root: Root
    writes: dict[str, tuple[bytes, bool]] = field(default_factory=dict)  # rel -> (content, secret)
    removals: list[str] = field(default_factory=list)
    dirs_removed: list[str] = field(default_factory=list)

    def write(self, rel: str, content: str | bytes, *, secret: bool = False) -> None:
        for part in _parts(rel):
            if len(part.encode("utf-8", "surrogateescape")) > NAME_MAX:
                shown = self.root.show(rel)
                raise FileRefused(f"{shown}: cannot write: file name too long; nothing was written")
        data = content.encode("utf-8") if isinstance(content, str) else content
        self.writes[rel] = (data, secret)

    def remove(self, rel: str) -> None:
        """Remove the regular file ``rel`` (one regplan wrote: the caller's record says so)."""
        _parts(rel)
        self.removals.append(rel)

    def remove_dir(self, rel: str) -> None:
        """Remove the directory ``rel`` once the removals ran, if it is empty then (else it stays)."""
        _parts(rel)
        self.dirs_removed.append(rel)

    def _check(self) -> None:
        """Every destination: its parents directories (or absent), itself a regular file or absent."""
        for rel in [*self.writes, *self.removals]:
            self.root.is_file(rel)
        for rel in self.dirs_removed:
            if self.root.kind(rel) not in ("dir", None):
                raise FileRefused(f"{self.root.show(rel)}: not a directory; regplan does not remove it")

    def commit(self) -> list[str]:
        """Validate, stage, then rename everything into place; returns the relative paths written."""
        self._check()
        staged: list[tuple[int, str, str]] = []  # (dir fd, temp name, final name)
        created: list[str] = []
        renamed = False
        try:
            for n, (rel, (data, secret)) in enumerate(sorted(self.writes.items())):
                *dirs, name = _parts(rel)
                fd = self.root.open_dir("/".join(dirs), create=True, created=created)
                assert fd is not None
                tmp = f"{TEMP_PREFIX}{os.urandom(6).hex()}-{n}-{name}"[:NAME_MAX]  # threads share a pid
                staged.append((fd, tmp, name))
                try:
                    ffd = os.open(
                        tmp,
                        os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC,
                        0o600 if secret else 0o666,
                        dir_fd=fd,
                    )
                    with os.fdopen(ffd, "wb") as fh:
                        fh.write(data)
                except OSError as err:
                    raise FileRefused(
                        f"{self.root.show(rel)}: cannot write: {err.strerror or err}; nothing was written"
                    ) from None
            self._check()  # again, just before the renames: nothing was swapped in meanwhile
            renamed = True
            for fd, tmp, name in staged:
                os.replace(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
        finally:
            for fd, tmp, _ in staged:
                if not renamed:
                    with contextlib.suppress(OSError):
                        os.unlink(tmp, dir_fd=fd)
                os.close(fd)
            if not renamed:
                for rel in reversed(created):
                    self._rmdir(rel)
        for rel in self.removals:
            self._unlink(rel)
        for rel in sorted(self.dirs_removed, key=lambda r: -r.count("/")):
            self._rmdir(rel)
        return sorted(self.writes)

    def _unlink(self, rel: str) -> None:
        *dirs, name = _parts(rel)
        fd = self.root.open_dir("/".join(dirs), create=False)
        if fd is None:
            return
        try:
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            if stat.S_ISREG(st.st_mode):
                os.unlink(name, dir_fd=fd)
        except FileNotFoundError:
            pass
        except OSError as err:
            raise FileRefused(f"{self.root.show(rel)}: cannot remove: {err.strerror or err}") from None
        finally:
            os.close(fd)

    def _rmdir(self, rel: str) -> None:
        *dirs, name = _parts(rel)
        fd = self.root.open_dir("/".join(dirs), create=False)
        if fd is None:
            return
        try:
            os.rmdir(name, dir_fd=fd)
        except OSError as err:
            if err.errno not in (errno.ENOENT, errno.ENOTEMPTY, errno.EEXIST):
                raise FileRefused(f"{self.root.show(rel)}: cannot remove: {err.strerror or err}") from None
        finally:
            os.close(fd)


def iter_files(root: Root, rel: str) -> Iterator[str]:
    """Relative paths of the regular files under ``rel``, recursively (depth-first, without recursion: a
    deep tree must not exhaust the stack), sorted per directory; a symlink or a special file there is
    refused (a tree regplan owns holds neither)."""
    pending = [rel]
    while pending:
        current = pending.pop()
        subdirs = []
        for name, kind in root.entries(current) or []:
            sub = f"{current}/{name}" if current else name
            if kind == "dir":
                subdirs.append(sub)
            elif kind == "file":
                yield sub
            else:
                raise FileRefused(
                    f"{root.show(sub)}: is a symlink in a directory regplan writes; not followed"
                    if kind == "symlink"
                    else f"{root.show(sub)}: not a regular file; regplan writes only regular files here"
                )
        pending.extend(reversed(subdirs))


def write_file(path: Path, content: str | bytes, *, secret: bool = False) -> None:
    """One file at a user-named path, atomically, not through a symlink (``plan --out FILE``)."""
    root, rel = Root.for_path(path)
    changes = Changes(root)
    changes.write(rel, content, secret=secret)
    changes.commit()

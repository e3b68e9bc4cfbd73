# leakwatch where: tracemalloc in the program `leakwatch where -- CMD` started.
#
# leakwatch puts the directory of this file first on PYTHONPATH, so Python
# imports it as `sitecustomize` at start-up. It
#   1. puts the environment and sys.path back as they were (children and the
#      program see nothing of leakwatch) and imports the sitecustomize it
#      shadows, if any;
#   2. in the first Python process only (it takes LEAKWATCH_WHERE_SOCKET out
#      of the environment), starts tracemalloc and a daemon thread that
#      answers leakwatch's polls over a UNIX socket: live bytes and blocks
#      per allocation site, the site being the most recent frame in the
#      program's own code (not the standard library), named
#      `function (file:line)`;
#   3. on `stop` (or when leakwatch goes away) stops tracemalloc.
# Nothing here may break the program: every failure is one line on stderr.
# Python 3.6 or newer.

import os
import sys


def _leakwatch_restore_environment():
    here = os.path.dirname(os.path.abspath(__file__))
    for var in ("PYTHONPATH", "RUBYOPT"):
        saved = os.environ.pop("LEAKWATCH_WHERE_SAVED_" + var, None)
        if saved is None:
            os.environ.pop(var, None)
        else:
            os.environ[var] = saved
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    return here


def _leakwatch_chain(here):
    """Imports the sitecustomize this one shadows, as site.py would."""
    me = sys.modules.pop("sitecustomize", None)
    try:
        import importlib

        importlib.import_module("sitecustomize")
    except ImportError as e:
        if getattr(e, "name", None) != "sitecustomize":
            sys.stderr.write("Error in sitecustomize; set PYTHONVERBOSE for traceback:\n%s: %s\n" % (type(e).__name__, e))
    except Exception as e:  # noqa: BLE001 - as site.py does
        sys.stderr.write("Error in sitecustomize; set PYTHONVERBOSE for traceback:\n%s: %s\n" % (type(e).__name__, e))
    finally:
        theirs = sys.modules.get("sitecustomize")
        if theirs is None and me is not None:
            sys.modules["sitecustomize"] = me


_LEAKWATCH_FRAMES = 8
_LEAKWATCH_MAX_KEYS = 5000


class _LeakwatchSites:
    """Names an allocation's site: its most recent frame in the program's own code."""

    def __init__(self, own_file):
        import sysconfig

        paths = sysconfig.get_paths()
        self.stdlib = tuple(
            sorted({os.path.join(os.path.realpath(paths[k]), "") for k in ("stdlib", "platstdlib") if paths.get(k)})
        )
        self.own_file = own_file
        self.internal = {}
        self.functions = {}
        self.keys = {}

    def is_internal(self, filename):
        r = self.internal.get(filename)
        if r is None:
            if filename.startswith("<"):
                r = True
            else:
                real = os.path.realpath(filename)
                r = real.startswith(self.stdlib) and "-packages" + os.sep not in real
            self.internal[filename] = r
        return r

    def function_at(self, filename, lineno):
        defs = self.functions.get(filename)
        if defs is None:
            defs = []
            try:
                import ast

                with open(filename, "rb") as f:
                    tree = ast.parse(f.read(), filename)

                def walk(node, prefix):
                    for child in ast.iter_child_nodes(node):
                        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                            name = prefix + child.name
                            end = getattr(child, "end_lineno", None)
                            if end is None:
                                end = max((getattr(n, "lineno", child.lineno) for n in ast.walk(child)), default=child.lineno)
                            first = min([d.lineno for d in getattr(child, "decorator_list", [])] + [child.lineno])
                            if not isinstance(child, ast.ClassDef):
                                defs.append((first, end, name))
                            walk(child, name + ".")
                        else:
                            walk(child, prefix)

                walk(tree, "")
            except Exception:  # noqa: BLE001 - no source, no name
                pass
            self.functions[filename] = defs
        best = None
        for first, end, name in defs:
            if first <= lineno <= end and (best is None or first >= best[0]):
                best = (first, name)
        return best[1] if best else "<module>"

    def key(self, frames):
        """`frames`: (filename, lineno) pairs, most recent first."""
        k = self.keys.get(frames)
        if k is not None:
            return k
        chosen = None
        for filename, lineno in frames:
            if not self.is_internal(filename):
                chosen = (filename, lineno)
                break
        if chosen is not None:
            k = "%s (%s:%d)" % (self.function_at(chosen[0], chosen[1]), chosen[0], chosen[1])
        elif frames:
            # Only the runtime's own code (imports, start-up): no need to
            # read its source for a function name.
            k = "%s:%d" % frames[0]
        else:
            k = "?"
        k = k.replace("\n", "\\n")
        if len(self.keys) < 200000:
            self.keys[frames] = k
        return k


def _leakwatch_by_traceback(tracemalloc):
    """The traced blocks' sizes, grouped by whole traceback (frames most
    recent first): {frames: [size, ...]}.

    tracemalloc traces this thread's allocations too: the loop makes no
    object per block (it appends a size that exists already; sum() and len()
    count afterwards). Adding to an int per block made a poll of 360,000
    blocks take a second, the program's threads stopped all along."""
    by = {}
    get = getattr(tracemalloc, "_get_traces", None)
    if get is not None:
        # The raw list take_snapshot() wraps: (domain, size, frames, ...).
        for trace in get():
            frames = trace[2]
            sizes = by.get(frames)
            if sizes is None:
                by[frames] = [trace[1]]
            else:
                sizes.append(trace[1])
        return by
    # A snapshot's tracebacks are oldest frame first from Python 3.7 on.
    newest_first = reversed if sys.version_info >= (3, 7) else iter
    for trace in tracemalloc.take_snapshot().traces:
        frames = tuple((f.filename, f.lineno) for f in newest_first(trace.traceback))
        sizes = by.get(frames)
        if sizes is None:
            by[frames] = [trace.size]
        else:
            sizes.append(trace.size)
    return by


def _leakwatch_serve(sock, own_file):
    import time
    import tracemalloc

    sites = _LeakwatchSites(own_file)
    reader = sock.makefile("rb")
    try:
        for raw in reader:
            words = raw.decode("ascii", "replace").split()
            if not words:
                continue
            if words[0] == "stop":
                break
            if words[0] != "poll" or len(words) < 2:
                continue
            seq = words[1]
            # The time this thread ran is the time it held the GIL: the
            # program's Python threads were stopped that long at most.
            clock = getattr(time, "thread_time", time.perf_counter)
            start = clock()
            try:
                if not tracemalloc.is_tracing():
                    # The program called tracemalloc.stop(): every poll from
                    # now on would read an empty heap, a false "no leak".
                    raise RuntimeError(
                        "the program stopped tracemalloc (tracemalloc.stop()): its "
                        "allocations are no longer traced, so nothing more can be measured"
                    )
                # Group by whole traceback first (C-level hashing of tuples),
                # then name each distinct traceback's site once.
                by_traceback = _leakwatch_by_traceback(tracemalloc)
                totals = {}
                for frames, sizes in by_traceback.items():
                    if any(f[0] == own_file for f in frames):
                        continue
                    size, count = sum(sizes), len(sizes)
                    key = sites.key(frames)
                    t = totals.get(key)
                    if t is None:
                        totals[key] = [size, count]
                    else:
                        t[0] += size
                        t[1] += count
                del by_traceback
                top = sorted(totals.items(), key=lambda kv: kv[1][0], reverse=True)[:_LEAKWATCH_MAX_KEYS]
                lines = ["begin %s\n" % seq]
                for key, (size, count) in top:
                    lines.append("v 0 %d %s\n" % (size, key))
                    lines.append("v 1 %d %s\n" % (count, key))
                pause_us = int((clock() - start) * 1e6)
                lines.append("end %s %d\n" % (seq, pause_us))
                sock.sendall("".join(lines).encode("utf-8", "replace"))
            except Exception as e:  # noqa: BLE001 - report, keep serving
                msg = ("%s: %s" % (type(e).__name__, e)).replace("\n", " ")
                sock.sendall(("error %s %s\n" % (seq, msg)).encode("utf-8", "replace"))
    except Exception:  # noqa: BLE001 - leakwatch went away
        pass
    finally:
        try:
            tracemalloc.stop()
        except Exception:  # noqa: BLE001
            pass
        try:
            sock.close()
        except Exception:  # noqa: BLE001
            pass


def _leakwatch_start(own_file):
    path = os.environ.pop("LEAKWATCH_WHERE_SOCKET", None)
    if not path:
        return
    try:
        import socket
        import threading
        import tracemalloc

        tracemalloc.start(_LEAKWATCH_FRAMES)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(path)
        version = "%d.%d.%d" % sys.version_info[:3]
        sock.sendall(("hello leakwatch-where 1 python %s %d\n" % (version, os.getpid())).encode("ascii"))
        t = threading.Thread(target=_leakwatch_serve, args=(sock, own_file), name="leakwatch-where")
        t.daemon = True
        t.start()
    except Exception as e:  # noqa: BLE001 - never break the program
        try:
            import tracemalloc

            tracemalloc.stop()
        except Exception:  # noqa: BLE001
            pass
        sys.stderr.write("leakwatch: could not start tracemalloc in this program: %s\n" % e)


_leakwatch_here = _leakwatch_restore_environment()
_leakwatch_chain(_leakwatch_here)
_leakwatch_start(os.path.abspath(__file__))

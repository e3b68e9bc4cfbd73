# The same string table in a module a long-running service imports: one
# entry per distinct string it is ever asked for.
import functools

strtab = {}
strtab_offset = 0


def strtab_slice(s):
    global strtab_offset
    if s in strtab:
        return strtab[s]
    strtab[s] = (strtab_offset, len(s))  # expect: unbounded-cache
    strtab_offset += len(s)
    return strtab[s]


@functools.cache  # expect: unbounded-cache
def utf8_width(c):
    return len(c.encode("utf8"))


def handle(request):
    return strtab_slice(request.query["name"]), utf8_width(request.query["c"])

# A code generator run by name at build time: it reads a table, prints Rust
# source and exits. Its string table and cached widths last one run.
import functools

strtab = {}
strtab_offset = 0


def strtab_slice(s):
    global strtab_offset
    if s in strtab:
        return strtab[s]
    strtab[s] = (strtab_offset, len(s))
    strtab_offset += len(s)
    return strtab[s]


@functools.cache
def utf8_width(c):
    return len(c.encode("utf8"))


print("static TABLE: &[Range] = &[")
for line in open("IdnaMappingTable.txt"):
    first, mapping = line.split(";")[:2]
    print("    Range { from: %s, slice: %r }," % (first, strtab_slice(mapping)))
print("];")

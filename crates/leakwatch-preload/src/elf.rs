//! Just enough ELF for the tracer: a loaded object's dynamic section
//! (relocations and dynamic symbols, for `got`), and a symbol of the main
//! program that only its static symbol table names (for
//! `__lsan_default_suppressions`). Nothing here allocates.

use core::ffi::{c_int, c_void, CStr};

pub const DT_NULL: i64 = 0;
pub const DT_PLTRELSZ: i64 = 2;
pub const DT_STRTAB: i64 = 5;
pub const DT_SYMTAB: i64 = 6;
pub const DT_RELA: i64 = 7;
pub const DT_RELASZ: i64 = 8;
pub const DT_STRSZ: i64 = 10;
pub const DT_JMPREL: i64 = 23;

pub const R_X86_64_64: u32 = 1;
pub const R_X86_64_GLOB_DAT: u32 = 6;
pub const R_X86_64_JUMP_SLOT: u32 = 7;

const PT_DYNAMIC: u32 = 2;
const PT_GNU_RELRO: u32 = 0x6474_e552;

#[repr(C)]
#[derive(Clone, Copy)]
pub struct Rela {
    pub offset: u64,
    pub info: u64,
    pub addend: i64,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct Sym {
    pub name: u32,
    pub info: u8,
    pub other: u8,
    pub shndx: u16,
    pub value: u64,
    pub size: u64,
}

/// A loaded object's dynamic linking tables, as mapped in memory.
pub struct Dynamic {
    pub base: u64,
    symtab: *const Sym,
    strtab: *const u8,
    strsz: u64,
    rela: (*const Rela, usize),
    jmprel: (*const Rela, usize),
    /// The page range the loader made read-only after relocation.
    pub relro: (u64, u64),
}

impl Dynamic {
    /// Reads the dynamic section of the object `info` describes. None when
    /// it has none (the vDSO has no relocations).
    ///
    /// # Safety
    /// `info` must describe an object that stays loaded while the result
    /// is used.
    pub unsafe fn of(info: &libc::dl_phdr_info) -> Option<Dynamic> {
        let base = info.dlpi_addr;
        // SAFETY: dlpi_phdr points at dlpi_phnum headers.
        let phdrs =
            unsafe { core::slice::from_raw_parts(info.dlpi_phdr, info.dlpi_phnum as usize) };
        let dynamic = phdrs.iter().find(|p| p.p_type == PT_DYNAMIC)?;
        let page = page_size();
        let relro = phdrs
            .iter()
            .find(|p| p.p_type == PT_GNU_RELRO)
            .map(|p| {
                let start = (base + p.p_vaddr) & !(page - 1);
                let end = (base + p.p_vaddr + p.p_memsz) & !(page - 1);
                (start, end)
            })
            .unwrap_or((0, 0));
        let mut d = Dynamic {
            base,
            symtab: core::ptr::null(),
            strtab: core::ptr::null(),
            strsz: 0,
            rela: (core::ptr::null(), 0),
            jmprel: (core::ptr::null(), 0),
            relro,
        };
        let (mut rela, mut relasz, mut jmprel, mut pltrelsz) = (0u64, 0u64, 0u64, 0u64);
        // The loader relocates these pointers in place on x86_64; an
        // object it did not (or the vDSO) still holds link-time addresses.
        let ptr = |v: u64| if v < base { v + base } else { v };
        let mut at = (base + dynamic.p_vaddr) as *const [i64; 2];
        loop {
            // SAFETY: the dynamic section is mapped and ends with DT_NULL.
            let [tag, val] = unsafe { at.read() };
            match tag {
                DT_NULL => break,
                DT_SYMTAB => d.symtab = ptr(val as u64) as *const Sym,
                DT_STRTAB => d.strtab = ptr(val as u64) as *const u8,
                DT_STRSZ => d.strsz = val as u64,
                DT_RELA => rela = ptr(val as u64),
                DT_RELASZ => relasz = val as u64,
                DT_JMPREL => jmprel = ptr(val as u64),
                DT_PLTRELSZ => pltrelsz = val as u64,
                _ => {}
            }
            // SAFETY: still inside the dynamic section (DT_NULL not seen).
            at = unsafe { at.add(1) };
        }
        if d.symtab.is_null() || d.strtab.is_null() {
            return None;
        }
        let n = core::mem::size_of::<Rela>() as u64;
        if rela != 0 {
            d.rela = (rela as *const Rela, (relasz / n) as usize);
        }
        if jmprel != 0 {
            d.jmprel = (jmprel as *const Rela, (pltrelsz / n) as usize);
        }
        Some(d)
    }

    /// Every relocation (general ones, then the PLT's).
    pub fn relocations(&self) -> impl Iterator<Item = Rela> + '_ {
        [self.rela, self.jmprel]
            .into_iter()
            .filter(|(p, _)| !p.is_null())
            // SAFETY: the tables are mapped for the object's lifetime.
            .flat_map(|(p, n)| unsafe { core::slice::from_raw_parts(p, n) }.iter().copied())
    }

    /// The name of dynamic symbol `index`.
    pub fn symbol_name(&self, index: u32) -> &CStr {
        // SAFETY: relocation symbol indexes are inside the symbol table,
        // and names inside the string table (NUL-terminated).
        unsafe {
            let sym = self.symtab.add(index as usize).read();
            if sym.name as u64 >= self.strsz {
                return c"";
            }
            CStr::from_ptr(self.strtab.add(sym.name as usize).cast())
        }
    }
}

pub fn page_size() -> u64 {
    // SAFETY: plain libc query.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as u64 }
}

/// The address of a function the main program defines, found by its
/// dynamic symbols (`dlsym`) or else its static symbol table on disk.
pub fn find_program_function(name: &CStr) -> Option<usize> {
    // SAFETY: dlsym with a NUL-terminated name.
    let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
    if !p.is_null() {
        return Some(p as usize);
    }
    let base = program_base()?;
    let value = static_symbol(c"/proc/self/exe", name.to_bytes())?;
    Some((base + value) as usize)
}

/// Load bias of the main program (the first object the loader lists).
fn program_base() -> Option<u64> {
    unsafe extern "C" fn first(info: *mut libc::dl_phdr_info, _: usize, arg: *mut c_void) -> c_int {
        // SAFETY: valid for the callback's duration; arg is the Option below.
        unsafe { *arg.cast::<Option<u64>>() = Some((*info).dlpi_addr) };
        1
    }
    let mut base: Option<u64> = None;
    // SAFETY: the callback only writes `base`.
    unsafe { libc::dl_iterate_phdr(Some(first), (&mut base as *mut Option<u64>).cast()) };
    base
}

/// The value of a function symbol in an ELF file's `.symtab`, read through
/// a private read-only mapping.
fn static_symbol(path: &CStr, name: &[u8]) -> Option<u64> {
    // SAFETY: read-only mapping of a regular file, unmapped before return;
    // every offset is checked against the file size before use.
    unsafe {
        let fd = libc::open(
            path.as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NONBLOCK,
        );
        if fd < 0 {
            return None;
        }
        let mut st: libc::stat = core::mem::zeroed();
        let size = if libc::fstat(fd, &mut st) == 0 && st.st_mode & libc::S_IFMT == libc::S_IFREG {
            st.st_size as usize
        } else {
            0
        };
        if size < 64 {
            crate::writer::sys_close(fd);
            return None;
        }
        let map = libc::mmap(
            core::ptr::null_mut(),
            size,
            libc::PROT_READ,
            libc::MAP_PRIVATE,
            fd,
            0,
        );
        crate::writer::sys_close(fd);
        if map == libc::MAP_FAILED {
            return None;
        }
        let file = core::slice::from_raw_parts(map.cast::<u8>(), size);
        let found = symtab_lookup(file, name);
        libc::munmap(map, size);
        found
    }
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}
fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}
fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Looks `name` up in an ELF64 little-endian image's SHT_SYMTAB.
fn symtab_lookup(file: &[u8], name: &[u8]) -> Option<u64> {
    const SHT_SYMTAB: u32 = 2;
    if file.get(..6)? != b"\x7fELF\x02\x01" {
        return None;
    }
    let shoff = u64_at(file, 0x28)? as usize;
    let shentsize = u16_at(file, 0x3a)? as usize;
    let shnum = u16_at(file, 0x3c)? as usize;
    if shentsize < 64 {
        return None;
    }
    for i in 0..shnum {
        let sh = shoff.checked_add(i.checked_mul(shentsize)?)?;
        if u32_at(file, sh + 4)? != SHT_SYMTAB {
            continue;
        }
        let off = u64_at(file, sh + 0x18)? as usize;
        let size = u64_at(file, sh + 0x20)? as usize;
        let link = u32_at(file, sh + 0x28)? as usize;
        let entsize = u64_at(file, sh + 0x38)? as usize;
        let strsh = shoff.checked_add(link.checked_mul(shentsize)?)?;
        let stroff = u64_at(file, strsh + 0x18)? as usize;
        let strsize = u64_at(file, strsh + 0x20)? as usize;
        let strtab = file.get(stroff..stroff.checked_add(strsize)?)?;
        if entsize < 24 {
            return None;
        }
        for k in 0..size / entsize {
            let s = off.checked_add(k * entsize)?;
            let st_name = u32_at(file, s)? as usize;
            let st_info = *file.get(s + 4)?;
            let value = u64_at(file, s + 8)?;
            if st_info & 0xf != 2 || value == 0 {
                continue; // not a defined function
            }
            let Some(rest) = strtab.get(st_name..) else {
                continue;
            };
            if rest.starts_with(name) && rest.get(name.len()) == Some(&0) {
                return Some(value);
            }
        }
    }
    None
}

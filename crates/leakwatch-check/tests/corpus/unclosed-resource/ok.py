import tempfile
import zipfile
import json
import socket


def read_config(path):
    with open(path) as f:
        return json.load(f)


def send(host, payload):
    s = socket.create_connection((host, 80))
    try:
        s.sendall(payload)
        return s.recv(1024)
    finally:
        s.close()


def log_file(path):
    f = open(path, "a")
    return f


class Writer:
    def __init__(self, path):
        self.f = open(path, "w")

    def close(self):
        self.f.close()


def copy(src, dst):
    with open(src) as a, open(dst, "w") as b:
        b.write(a.read())


def strip_switches(svg_path):
    # The temporary file's descriptor is closed through the wrapper's file;
    # the file itself is kept for the caller (delete=False).
    tmp = tempfile.NamedTemporaryFile(suffix=".svg", delete=False)
    tmp.file.write(svg_path.encode())
    tmp.file.close()
    return tmp.name


def unpack_archive(archive_path, into):
    # The zip reads through the file opened here; closing that file releases
    # the one descriptor (a ZipFile does not close a file it was handed).
    f = open(archive_path, "rb")
    z = zipfile.ZipFile(f)
    for name in z.namelist():
        z.extract(name, into)
    f.close()

import tempfile
import zipfile
import json
import socket


def read_config(path):
    f = open(path)  # expect: unclosed-resource
    return json.load(f)


def send(host, payload):
    s = socket.create_connection((host, 80))  # expect: unclosed-resource
    s.sendall(payload)
    return s.recv(1024)


def append(path, line):
    out = open(path, "a")  # expect: unclosed-resource
    out.write(line + "\n")


def scratch_copy(data):
    # Only its name is handed on: the descriptor stays open.
    tmp = tempfile.NamedTemporaryFile(delete=False)  # expect: unclosed-resource
    tmp.file.write(data)
    return tmp.name


def archive_members(archive_path):
    # Opened by path, the zip owns its descriptor, and nothing closes it.
    z = zipfile.ZipFile(archive_path)  # expect: unclosed-resource
    return z.namelist()

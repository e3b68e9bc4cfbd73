import os


def write_pid(path):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)  # expect: unclosed-resource
    os.write(fd, str(os.getpid()).encode())

# Look-alikes: block forms, close in ensure, File.read, handed back.
class Importer
  def import(path)
    File.open(path) { |f| f.each_line { |l| store(l) } }
  end

  def header(path)
    File.read(path).lines.first
  end

  def ping(host)
    sock = TCPSocket.new(host, 80)
    sock.write("HEAD / HTTP/1.0\r\n\r\n")
    sock.gets
  ensure
    sock&.close
  end

  def open_log(path)
    File.open(path, "a")
  end
end

# Handles kept in a list that their owner closes, or returned from a branch.
class Reopener
  def initialize
    @opened = []
  end

  def reopen(file)
    reopened = File.open(file.path, "rb")
    @opened << reopened
    nil
  end

  def log_for(level)
    if level == :debug
      dbg = File.open("/tmp/debug.log", "a")
      dbg
    else
      $stderr
    end
  end

  def close_all
    @opened.each(&:close)
  end
end

# A block passed as an argument is a block: the pipe is closed after it.
def cpu_count
  IO.popen("/usr/bin/nproc --all", &:read).to_i
end

# The log file is the method's value: `f << s` returns `f`, and the caller
# keeps it as the driver's wire-dump device for the program's life.
def wire_dump_log
  name = File.basename($0) + ".log"
  f = File.open(name, "w")
  f << "File: #{name}\n"
  f << "Date: #{Time.now}\n\n"
end

# A file opened for writing is closed by close_write (it is not a duplex
# pipe).
def dump_schema(io, result)
  io = File.open(io, "w") if io.is_a?(String)
  io.write(result.to_json)
  io.close_write
end

# `binmode` returns the file itself: closing the variable closes it.
class PdfWriter
  def save(path)
    fd = File.open(File.expand_path(path), "w").binmode
    fd.write(render)
    fd.close
    self
  end
end

# Inside `module MemFS`, `File` is MemFS's own in-memory file (Ruby's
# lexical lookup finds it first): no descriptor is opened.
module MemFS
  class File
    def initialize(path)
      @path = path
      @data = +""
    end

    def stat
      Stat.new(@data.bytesize)
    end
  end

  module FileTest
    def self.size(name)
      File.new(name).stat.size
    end
  end
end

# The socket is the method's value (the `rescue` clause comes after it):
# the caller owns it and closes it.
module Wire
  def self.connect(host, port)
    sock = TCPSocket.new(host, port)
    sock.setsockopt(Socket::IPPROTO_TCP, Socket::TCP_NODELAY, true)
    sock
  rescue Errno::ECONNREFUSED
    raise Unavailable
  end
end

# The history file kept open for appending: `tap` hands back the file, and the
# attribute owns it for the session.
class History
  def history_file
    @history_file ||= File.open(history_file_path, 'a', 0o600).tap do |file|
      file.sync = true
    end
  end
end

# Files and sockets opened without a block or a close.
class Importer
  def import(path)
    f = File.open(path) # expect: unclosed-resource
    f.each_line { |l| store(l) }
  end

  def header(path)
    File.open(path).readline # expect: unclosed-resource
  end

  def ping(host)
    sock = TCPSocket.new(host, 80) # expect: unclosed-resource
    sock.write("HEAD / HTTP/1.0\r\n\r\n")
    sock.gets
  end

  def touch(path, verbose)
    if verbose
      f = File.open(path, "a") # expect: unclosed-resource
      f.write("touched\n")
    end
    nil
  end
  def stamp(path)
    log = File.open(path, "a") # expect: unclosed-resource
    log << "stamped\n" << Time.now.to_s
    nil
  end
end

# The same, never closed: the descriptor waits for GC.
class PdfExporter
  def export(path)
    fd = File.open(File.expand_path(path), "w").binmode # expect: unclosed-resource
    fd.write(render)
    self
  end
end

# Another module's own `File` class does not hide the core one here.
module Disk
  module FileTest
    def self.first_line(name)
      File.new(name).gets # expect: unclosed-resource
    end
  end
end

module Shadow
  class File
    def initialize(path)
      @path = path
    end
  end
end

# `::File` is the core class wherever it is written, even in a module that
# has its own `File`.
module Vault
  class File
    def initialize(key)
      @key = key
    end
  end

  def self.head(path)
    f = ::File.open(path) # expect: unclosed-resource
    f.readline
  rescue EOFError
    ""
  end
end

# The same file tapped and dropped: opened per line saved, never closed.
class Journal
  def save(line)
    File.open(journal_path, 'a').tap do |file| # expect: unclosed-resource
      file.puts(line)
    end
  end
end

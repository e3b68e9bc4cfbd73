# leakwatch where: live objects per class in the program `leakwatch where
# -- CMD` started.
#
# leakwatch loads this file through RUBYOPT=-r. It puts the environment back
# as it was (children see nothing of leakwatch) and, in the first Ruby
# process only (it takes LEAKWATCH_WHERE_SOCKET out of the environment),
# starts a thread that answers leakwatch's polls over a UNIX socket: after a
# full GC, the number of live objects of each class (ObjectSpace). Nothing
# here may break the program: every failure is one line on stderr.

module LeakwatchWhere
  MAX_KEYS = 20_000

  def self.restore_environment
    %w[RUBYOPT PYTHONPATH].each do |var|
      saved = ENV.delete("LEAKWATCH_WHERE_SAVED_#{var}")
      if saved.nil?
        ENV.delete(var)
      else
        ENV[var] = saved
      end
    end
  end

  def self.count_by_class
    class_of = Kernel.instance_method(:class)
    counts = Hash.new(0)
    # bind_call (Ruby 2.7+) makes no object; bind(o).call makes a Method
    # per object, which this very walk would then count as the program's.
    if class_of.respond_to?(:bind_call)
      ObjectSpace.each_object(BasicObject) do |o|
        counts[class_of.bind_call(o)] += 1
      rescue StandardError
        counts[BasicObject] += 1
      end
    else
      ObjectSpace.each_object(BasicObject) do |o|
        counts[class_of.bind(o).call] += 1
      rescue StandardError
        counts[BasicObject] += 1
      end
    end
    counts
  end

  def self.name_of(klass)
    name = begin
      Module.instance_method(:name).bind(klass).call
    rescue StandardError
      nil
    end
    name ||= begin
      Kernel.instance_method(:inspect).bind(klass).call
    rescue StandardError
      'anonymous'
    end
    name.to_s.tr("\n", ' ')
  end

  def self.answer(sock, seq)
    start = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    GC.start(full_mark: true, immediate_sweep: true)
    counts = count_by_class
    out = +"begin #{seq}\n"
    counts.sort_by { |_, n| -n }.first(MAX_KEYS).each do |klass, n|
      out << "v 0 #{n} #{name_of(klass)}\n"
    end
    pause_us = ((Process.clock_gettime(Process::CLOCK_MONOTONIC) - start) * 1e6).to_i
    out << "end #{seq} #{pause_us}\n"
    sock.write(out)
  rescue StandardError => e
    sock.write("error #{seq} #{e.class}: #{e.message.tr("\n", ' ')}\n")
  end

  def self.serve(sock)
    while (line = sock.gets)
      words = line.split
      case words[0]
      when 'stop' then break
      when 'poll' then answer(sock, words[1]) if words[1]
      end
    end
  rescue StandardError
    nil # leakwatch went away
  ensure
    begin
      sock.close
    rescue StandardError
      nil
    end
  end

  def self.start
    restore_environment
    path = ENV.delete('LEAKWATCH_WHERE_SOCKET')
    return if path.nil? || path.empty?

    require 'socket'
    sock = UNIXSocket.new(path)
    sock.write("hello leakwatch-where 1 ruby #{RUBY_VERSION} #{Process.pid}\n")
    t = Thread.new { serve(sock) }
    t.name = 'leakwatch-where' if t.respond_to?(:name=)
  rescue StandardError, LoadError => e
    warn "leakwatch: could not start counting objects in this program: #{e.message}"
  end
end

LeakwatchWhere.start

# Look-alikes: capture a size, not the data; at_exit once at boot.
class Report
  rows = CSV.read("big_export.csv")
  count = rows.size
  define_method(:row_count) { count }
end

at_exit { Rails.logger.info("shutting down") }

class Flags
  %i[admin editor].each do |role|
    define_method("#{role}?") { roles.include?(role) }
  end
end

# Names built from other names are short strings, not data.
class Settings
  def self.accessor(name)
    ivar = "@#{name}"
    getter = :"__synchronized_#{name}"
    define_method(name) { instance_variable_get(ivar) }
    define_singleton_method(name) { send(getter) }
  end
end

# Metadata captured by methods defined at class-definition time: a class, an
# association's name, filter arguments. They live as long as the class would
# anyway.
module NestedAttributes
  def def_nested_attribute_method(reflection)
    assoc = reflection[:name]
    define_method(:"#{assoc}_attributes=") { |v| set_nested_attributes(assoc, v) }
  end

  def where(name, *args, &block)
    cond = args
    cond = cond.first if cond.size == 1
    define_method(:"#{name}_conditions") { filter_expr(cond, &block) }
  end

  def column_type(type)
    klass = Object.const_get(type)
    define_method(type) { |name, opts = {}| column(name, klass, opts) }
  end
end

# An exit hook registered by a helper that only `boot` calls: once per server.
class PreloadServer
  def boot
    @pid = Process.pid
    set_exit_hook
    serve
  end

  def set_exit_hook
    server_pid = Process.pid
    state = { pid: server_pid, started: Time.now }
    at_exit { shutdown if Process.pid == state[:pid] }
  end
end

# A profiler's `run`, activated once per test process at load by whoever
# uses it: one hook per process, though the method could be called again
# (test-prof's RubyProf.run).
module Profiler
  def self.run
    report = profile
    return unless report

    at_exit { report.dump("total") }
  end
end

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

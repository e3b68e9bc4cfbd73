# The process's log file, memoized when a path is configured (else standard
# output): the `tap` hands back the file, the `if` hands it to the
# attribute, and the module keeps it until `close_log` (resqued's logging).
module ServiceLog
  class << self
    def logging_io
      @logging_io = nil if @logging_io&.closed?
      @logging_io ||=
        if (path = ENV['SERVICE_LOGFILE'])
          File.open(path, 'a').tap do |f|
            f.sync = true
            f.close_on_exec = true
          end
        else
          $stdout
        end
    end

    def close_log
      return unless @logging_io && @logging_io != $stdout

      @logging_io.close
      @logging_io = nil
    end

    # The same through a ternary and a `case`.
    def audit_io
      @audit_io ||= ENV['AUDIT'] ? File.open(ENV['AUDIT'], 'a').tap { |f| f.sync = true } : $stderr
    end

    def trace_io(kind)
      @trace_io ||= case kind
                    when :file then File.open('trace.log', 'a').tap { |f| f.sync = true }
                    else $stderr
                    end
    end
  end
end

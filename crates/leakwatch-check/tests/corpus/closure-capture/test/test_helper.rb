# A test suite's fixtures (resque's test_helper.rb shape): the job runs once
# per test that enqueues it, in a forked worker that exits after it, so its
# at_exit hook is no per-request leak. leaky.rb's JobProfiler, outside a
# test file, still is.
require "minitest/autorun"

class AtExitJob
  def self.perform(filename)
    at_exit { File.open(filename, "w") { |f| f.puts("at_exit") } }
  end
end

class UploadJob
  def perform(body)
    at_exit { puts "upload of #{body.bytesize} bytes" }
  end
end

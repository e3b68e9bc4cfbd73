# The fixture of test/test_helper.rb in a file that only looks like a
# test's by name ("latest.rb"): an application job, so a hook per job.
class AtExitJob
  def self.perform(filename)
    at_exit { File.open(filename, "w") { |f| f.puts("at_exit") } } # expect: closure-capture
  end
end

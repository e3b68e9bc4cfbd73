# Closures that pin large data for the life of the class or process.
class Report
  rows = CSV.read("big_export.csv")
  define_method(:row_count) { rows.size } # expect: closure-capture
end

class UploadsController < ApplicationController
  def create
    body = request.body.read
    at_exit { Rails.logger.info("upload of #{body.bytesize} bytes") } # expect: closure-capture
    head :created
  end
end

# Bulk data read at class-definition time and captured by a method.
class Catalog
  def self.define_lookup(path)
    entries = JSON.parse(File.read(path))
    define_method(:entry) { |id| entries[id] } # expect: closure-capture
  end
end

# The same helper called from a controller action: one hook per request.
class ImportsController < ApplicationController
  def create
    remember_upload(request.body.read)
    head :created
  end

  def remember_upload(data)
    at_exit { Rails.logger.info("import of #{data.bytesize} bytes") } # expect: closure-capture
  end
end

# The same profiler started by a job for every message: one hook, and one
# report, per job.
module JobProfiler
  def self.run
    report = profile
    return unless report

    at_exit { report.dump("total") } # expect: closure-capture
  end
end

class ProfiledJob
  def perform(message)
    JobProfiler.run
    handle(message)
  end
end

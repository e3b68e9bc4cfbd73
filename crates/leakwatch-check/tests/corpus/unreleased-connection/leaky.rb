# Connections opened per call and never closed.
class ReportService
  def totals(day)
    conn = PG.connect(dbname: "reports") # expect: unreleased-connection
    conn.exec_params("SELECT sum(total) FROM orders WHERE day = $1", [day]).getvalue(0, 0)
  end

  def cached(key)
    redis = Redis.new(url: ENV["REDIS_URL"]) # expect: unreleased-connection
    redis.get(key)
  end
end

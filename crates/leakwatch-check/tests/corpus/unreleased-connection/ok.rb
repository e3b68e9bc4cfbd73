# Look-alikes: block forms, ensure/close, shared clients.
class ReportService
  REDIS = Redis.new(url: ENV["REDIS_URL"])

  def totals(day)
    conn = PG.connect(dbname: "reports")
    conn.exec_params("SELECT sum(total) FROM orders WHERE day = $1", [day]).getvalue(0, 0)
  ensure
    conn&.close
  end

  def ping
    Net::HTTP.start("example.com", 443, use_ssl: true) { |http| http.head("/") }
  end

  def connection
    @conn = PG.connect(dbname: "reports")
  end

  def open_db(path)
    db = SQLite3::Database.new(path)
    db
  end
end

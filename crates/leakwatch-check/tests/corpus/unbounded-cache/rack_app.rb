# A Rack app: every distinct path a client asks for compiles one more route
# and keeps it for the life of the process.
class RouteCache
  @compiled = {}

  def self.compile(pattern)
    @compiled[pattern] ||= Mustermann.new(pattern) # expect: unbounded-cache
  end
end

class App
  def call(env)
    route = RouteCache.compile(env["PATH_INFO"])
    [200, {}, [route.to_s]]
  end
end

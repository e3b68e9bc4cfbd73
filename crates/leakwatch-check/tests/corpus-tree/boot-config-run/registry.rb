# The same registry, also fed from a request handler: it grows per request.
module Registry
  ALL = []

  def self.add_module(module_name, options = {})
    ALL << module_name # expect: global-accumulator
  end
end

# Devise-style module registry: filled by `add_module` calls made at load,
# inside a configuration block that yields at once.
module Registry
  ALL = []
  STRATEGIES = {}

  def self.add_module(module_name, options = {})
    ALL << module_name
    STRATEGIES[module_name] = options[:strategy] if options[:strategy]
  end
end

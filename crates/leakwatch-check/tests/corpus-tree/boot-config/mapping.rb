# Another class's own `add_module`, called at run time on that class: not a
# call of `Registry.add_module`.
class Mapping
  def self.add_module(m)
    define_method(:"#{m}?") { modules.include?(m) }
  end
end

module Registry
  def self.refresh(name)
    Mapping.add_module(name)
  end
end

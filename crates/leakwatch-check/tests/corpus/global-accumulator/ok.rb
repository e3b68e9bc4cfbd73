# Look-alikes: drained, capped, registered at boot, or per request.
PENDING = []
HOOKS = []

def enqueue(event)
  PENDING << event
end

def flush
  batch = PENDING.dup
  PENDING.clear
  batch
end

class Recent
  @@last = []

  def add(item)
    @@last << item
    @@last.shift if @@last.size > 100
  end
end

def register_hook(hook)
  HOOKS << hook
end

def handle(request)
  errors = []
  errors << request.path
  errors
end

# A mixin: a module's instance methods keep their @ivars in each object
# that includes the module (here, one view per request), not in the module.
module PageHelpers
  def add_to_footer
    @footer_parts ||= []
    @footer_parts << yield.dup if block_given?
  end

  def footer_html
    @footer_parts.join if defined?(@footer_parts)
  end
end

# A class-definition DSL: the store grows only when the method is given
# arguments, and every such call is in a class body, run once as the class
# is defined. Calls without arguments (in methods) only read it.
class PatternBase
  def self.supported_options(*list)
    @supported_options ||= []
    @supported_options.concat(list)
  end

  supported_options :uri_decode

  def supports?(option)
    self.class.supported_options.include?(option)
  end
end

class RegularPattern < PatternBase
  supported_options :check_anchors
end

# Called only from a class body, once per inherited method as the class is
# defined (an iteration at load time).
class BlankSlate
  def self.hide(name)
    @hidden_methods ||= []
    @hidden_methods << name.to_sym
  end

  instance_methods.each { |m| hide(m) unless m =~ /^(__|instance_eval$)/ }
end

# A class-level DSL whose list is filled where subclasses are defined; the
# exporter's own `rule`, called per job with data, is another method that
# shares the name (parslet's `Transform.rule` and `Export#rule`).
class Transform
  class << self
    def rule(expression, &block)
      @rules ||= []
      @rules.unshift([Pattern.new(expression), block])
    end
  end
end

class GrammarExport
  def perform(grammar)
    grammar.rules.map { |name, body| rule(name, body) }
  end

  def rule(name, body)
    "#{name} <- #{body}"
  end
end

# Built once from the gem's data file: the table is set to a new Hash and
# filled in the same block, so a second run would build it again rather
# than add to it (spdx-licenses' `@@data`).
module LicenseTable
  def self.data
    unless defined?(@@data)
      @@data = {}
      JSON.parse(File.read(DATA_FILE))["licenses"].each do |entry|
        id = entry.delete("licenseId")
        @@data[id] = entry
      end
    end
    @@data
  end
end

# A mapper's list is the mapper's own, though the module beside it keeps a
# list of the same name: one mapper per `map` block.
module AccessRules
  class << self
    def rules
      @rules ||= []
    end
  end

  class Mapper
    def grant(name)
      @rules ||= []
      @rules << name
    end
  end
end

class GrantJob
  def perform(job)
    AccessRules::Mapper.new.grant(job.name)
  end
end

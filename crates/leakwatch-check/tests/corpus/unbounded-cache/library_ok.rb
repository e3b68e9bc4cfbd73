# Library stores whose growth is set by the library's users, with nothing in
# the tree growing them per request: a memo keyed by the style names the
# code passes, a per-font measure cache filled at boot, a class-level DSL.

class Palette
  STYLES = {}

  def style(kind)
    STYLES[kind] ||= build_style(kind)
  end

  def heading
    style(:heading)
  end
end

module Fonts
  @@widths = {}

  def self.width(font)
    @@widths[font] ||= measure(font)
  end
end

Fonts.width("DejaVu Sans")

class Widget
  @fields = []

  def self.field(name)
    @fields << name.to_s
  end
end

# A memo keyed by a region: one entry per region, whatever the value is
# called.
class VpcDefaults
  def self.default_vpc_for(region)
    @default_vpcs ||= {}
    @default_vpcs[region] ||= vpc_id
  end
end

# Each handler class files itself while it loads (a bare `add_handler` in
# its body): one entry per class.
class EncodingHandler
  @@handlers = {}

  def self.uri
    self::Namespace
  end

  def self.handler(uri)
    @@handlers[uri]
  end

  def self.add_handler
    @@handlers[self.uri] = self
  end
end

class LiteralHandler < EncodingHandler
  Namespace = "urn:literal"
  add_handler
end

# A command-line command's `invoke` (as Rake, Thor and `gem` run them) runs
# once per process: what it reaches is not per request.
class WhichCommand
  def invoke(*args)
    args.each { |name| puts locate(name) }
  end

  def locate(name)
    SpecIndex.find_by_path(name)
  end
end

class SpecIndex
  @@by_path = {}

  def self.find_by_path(path)
    @@by_path[path] ||= stubs.find { |s| s.contains?(path) }
  end
end

# A visitor's dispatch table keyed by the node's type: one entry per kind
# of node the grammar has.
class RouteVisitor
  DISPATCH = Hash.new { |h, k| h[k] = "visit_#{k}" }

  def perform(node)
    visit(node)
  end

  def visit(node)
    send DISPATCH[node.type], node
  end
end

# Hooks by name, filled by `Hash.new`'s block on first read: every caller
# names the hook with a Symbol, or a local chosen between Symbols, and
# passes data only in the other arguments (autotest's hooks).
class Watcher
  HOOKS = Hash.new { |h, k| h[k] = [] }

  def perform(changes)
    hook :updated, changes
    color = changes.empty? ? :green : :red
    hook color
  end

  def hook(name, *args)
    HOOKS[name].any? { |plugin| plugin[self, *args] }
  end
end

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

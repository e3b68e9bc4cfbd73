# Look-alikes: bounded, evicted, per-instance or filled at boot.
class PriceService
  MAX = 10_000
  @@quotes = {}

  def quote(sku)
    @@quotes.clear if @@quotes.size > MAX
    @@quotes[sku] ||= fetch_quote(sku)
  end
end

class Session
  def initialize
    @cache = {}
  end

  def lookup(key)
    @cache[key] ||= load(key)
  end
end

TIMEZONES = {}
TZInfo::Timezone.all.each { |tz| TIMEZONES[tz.name] = tz }

class Tokens
  @@tokens = {}

  def issue(user)
    @@tokens[user.id] = SecureRandom.hex
  end

  def revoke(user)
    @@tokens.delete(user.id)
  end
end

# Registration APIs store what their callers hand them.
module Parallelization
  @@after_fork_hooks = []

  def self.after_fork_hook(&blk)
    @@after_fork_hooks << blk
  end
end

# Keyed by a value's encoding or class: bounded by the encodings and types
# the program has, not by traffic.
module Blankness
  PATTERNS = Hash.new { |h, enc| h[enc] = Regexp.new('\A\s*\z'.encode(enc)) }

  def self.blank?(str)
    PATTERNS[str.encoding].match?(str)
  end
end

class Serializer
  @@fields = {}

  def fields_for(record)
    @@fields[record.class] ||= record.class.columns.map(&:name)
  end
end

# Configuration APIs: the stored value is the caller's other argument (or
# its hash merged in), not computed from the key on a miss.
module Irregulars
  @words = {}

  def self.irregular(words)
    @words.merge!(words)
  end

  def self.apply(word)
    @words[word] || word
  end
end

class AssetGroups
  @@groups = {}

  def self.add_group(group, paths)
    @@groups[group] ||= []
    @@groups[group].concat(paths)
  end

  def self.paths_for(group)
    @@groups.fetch(group, [])
  end
end

# The content of the file the key names: bounded by the files that exist.
class TemplateSources
  @@sources = {}

  def self.source(path)
    @@sources[path] ||= File.read(path)
  end
end

SETTINGS = Hash.new { |h, file| h[file] = YAML.load_file(file) }

def settings_for(file)
  SETTINGS[file]
end

# Keyed by a parameter whose default is a Symbol: Ruby code does not turn
# input into Symbols, so the keys are identifiers written in code.
class Formats
  @registry = {}

  def self.for(locale = :en)
    @registry[locale] ||= new(locale)
  end
end

# Keyed by a class name and valued by the constant it names: the keys range
# over the classes the program defines.
class PolymorphicLoader
  @classes = {}

  def self.class_for(type)
    @classes[type] ||= type.constantize
  end
end

# Filled from the data file each key names: bounded by the files that exist.
module Transliterator
  CODEPOINTS = Hash.new do |h, k|
    h[k] = YAML.load_file(File.join(DATA_DIR, "#{k}.yml"))
  end

  def self.decode(string)
    string.gsub(/[^\x00-\x7f]/u) { |c| CODEPOINTS[format("x%02x", c.ord >> 8)][c.ord & 255] }
  end
end

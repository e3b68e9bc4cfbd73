# Look-alikes: batches, limits, key lookups.
class InvoiceJob
  def perform
    Invoice.find_each(batch_size: 500) { |invoice| invoice.recalculate! }
  end

  def recent
    Order.all.limit(50).map(&:total)
  end

  def for_user(user)
    Order.where(user_id: user.id).each { |o| o.touch }
  end

  def one(id)
    DB.exec("SELECT * FROM audit_events WHERE id = $1", [id])
  end

  def names
    %w[a b].each { |n| puts n }
  end
end

# A class of this code's own with its own `all` (the queues kept in
# Redis), not an ActiveRecord model.
class JobQueue
  def self.all
    REDIS.smembers("queues").map { |name| new(name) }
  end
end

class QueueMonitor
  def sizes
    JobQueue.all.map(&:size)
  end
end

# Read once per process: the only call fills a class-level memo (the list
# of emoji names behind a pattern).
class EmojiFilter
  def self.emoji_pattern
    @emoji_pattern ||= /:(#{emoji_names.map { |n| Regexp.escape(n) }.join('|')}):/
  end

  def self.emoji_names
    Emoji.all.map(&:aliases).flatten.sort
  end
end

# sqlite3's `execute` with a block hands over one row at a time.
class CookieStore
  def migrate_domains
    @db.execute("SELECT id, host FROM cookies") { |row| update_domain(row) }
  end
end

# A plugin registry: a plain class of the tree's own whose `all` comes
# from the module it extends (nanoc's deployers through DDPlugin).
class Deployer
  extend PluginRegistry

  def initialize(output_dir)
    @output_dir = output_dir
  end
end

class DeployCommand
  def run(options)
    names = Deployer.all.map(&:identifier)
    puts "available deployers: #{names.join(', ')}"
  end
end

# `all` from a module that the parent class extends: the gem's own list,
# read from its data files (the countries gem's `Country.all`), not a table,
# though the subclass has a superclass.
module Geo
  module RegionListing
    def all
      DATA.map { |code, row| new(code, row) }
    end
  end

  class Region
    extend RegionListing
  end
end

class Region < Geo::Region
  def self.names_with_codes
    Region.all.map { |r| [r.name, r.code] }
  end
end

# `all` on what a module of the tree returns: the tool's own settings
# object lists its keys (Bundler's `Bundler.settings.all`), not rows.
module Toolkit
  def self.settings
    @settings ||= Settings.new(root)
  end
end

class ConfigController < ApplicationController
  def index
    Toolkit.settings.all.each { |key| render_key(key) }
  end
end

# DataMapper lookups by a foreign key: the rows of one sublet, not the table.
class SubletServer
  def authors_of(sublet)
    Author.all(:sublet_id => sublet.id).map { |a| a.user.name }
  end
end

# A documentation template listing the code objects of the kinds it names
# (YARD's registry, puppet-strings' shape): a registry lookup, no table.
def generate_puppet_class_list
  @items = Registry.all(:puppet_class).sort_by { |c| c.name.to_s }
  generate_list_contents
end

def generate_type_list(*types)
  @items = Registry.all(*types).sort_by { |t| t.name.to_s }
  generate_list_contents
end

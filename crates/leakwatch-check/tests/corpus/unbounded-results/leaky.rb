# Whole tables loaded into memory.
class InvoiceJob
  def perform
    Invoice.all.each do |invoice| # expect: unbounded-results
      invoice.recalculate!
    end
  end

  def export
    totals = Order.includes(:lines).all.map(&:total) # expect: unbounded-results
    rows = DB.exec("SELECT * FROM audit_events") # expect: unbounded-results
    [totals, rows]
  end
end

# A memo on each instance: one full load per report made.
class CustomerReport
  def names
    @names ||= customer_names
  end

  def customer_names
    Customer.all.map(&:name) # expect: unbounded-results
  end
end

# pg's `exec` with a block still gets the whole result first.
class AuditExport
  def dump(conn)
    conn.exec("SELECT * FROM audit_events") { |result| write(result.values) } # expect: unbounded-results
  end
end

# A Mongoid document defined here: no superclass, still a collection.
class AuditEvent
  include Mongoid::Document
  field :action, type: String
end

class AuditController < ApplicationController
  def index
    render json: AuditEvent.all.map(&:action) # expect: unbounded-results
  end
end

# A model that extends a module of the tree's own: the module gives other
# class methods, so `all` is still the ORM's.
module Searchable
  def search(term)
    where("name LIKE ?", "%#{term}%")
  end
end

class Account < ApplicationRecord
  extend Searchable

  def self.names_with_ids
    Account.all.map { |a| [a.name, a.id] } # expect: unbounded-results
  end
end

# A namespace module around a model: `Billing::Invoice` is a class, so its
# `all` reads the table.
module Billing
  class Invoice < ApplicationRecord
  end
end

class InvoicesController < ApplicationController
  def index
    Billing::Invoice.all.each { |i| render_row(i) } # expect: unbounded-results
  end
end

# The same model read whole, only ordered.
class SubletIndex
  def names
    Sublet.all(:order => [:name]).map(&:name) # expect: unbounded-results
  end
end

# The same listing over a model's whole table, on every page view.
def generate_document_list
  @items = Document.all.sort_by { |d| d.title.to_s } # expect: unbounded-results
  generate_list_contents
end

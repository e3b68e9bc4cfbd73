# A Sidekiq-style billing worker.
class BillingWorker
  RATE_CACHE = {}

  def perform(account_id)
    account = Account.find(account_id)
    rate = RATE_CACHE[account.plan] ||= Plan.rate_for(account.plan) # expect: unbounded-cache
    Charge.all.each { |c| c.reconcile!(rate) } # expect: unbounded-results
    Charge.where(account_id: account_id).find_each { |c| c.touch }
    log = File.new("/var/log/billing-#{account_id}.log", "a") # expect: unclosed-resource
    log.puts("billed #{account_id}")
  end

  def stats
    File.open("/var/log/billing.log") { |f| f.readlines.size }
  end
end

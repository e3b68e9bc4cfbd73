# Process-wide collections that only grow.
AUDIT_LOG = []
$seen_ids = []

class EventsController < ApplicationController
  @@clicks = []

  def create
    AUDIT_LOG << { user: current_user.id, at: Time.now } # expect: global-accumulator
    $seen_ids.push(params[:id]) # expect: global-accumulator
    @@clicks << params[:target] # expect: global-accumulator
    head :ok
  end
end

# Subscribing to a process-wide notifier from code that runs per request.
class ReportsController < ApplicationController
  def show
    ActiveSupport::Notifications.subscribe("sql.active_record") do |*args| # expect: listener-leak
      @queries << args
    end
    render json: Report.find(params[:id])
  end
end

get '/stream' do
  EventBus.subscribe(:order_created) { |o| log(o) } # expect: listener-leak
  "ok"
end

# A parameter captured by the block, not handed on: one subscriber per call.
class OrderStream
  def follow(order)
    EventBus.subscribe(:order_updated) { |o| push(order, o) } # expect: listener-leak
  end
end

# Each job follows one more order.
class FollowOrderJob
  def perform(order_id)
    OrderStream.new.follow(Order.find(order_id))
  end
end

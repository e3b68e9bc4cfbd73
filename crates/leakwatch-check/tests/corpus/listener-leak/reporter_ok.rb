# Started once per test run by a reporter; the block's `request` is the
# event's payload, read when an event fires, not per subscription.
module Profiling
  class Run
    def start(*args)
      start_counting_requests
    end

    private

    def start_counting_requests
      ActiveSupport::Notifications.subscribe("process_action.action_controller") do |name, start, finish, id, request|
        @current.try(:log_request, request, start, finish)
      end
    end
  end
end

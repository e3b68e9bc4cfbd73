# Not a Unicorn configuration: a metrics library's support for Unicorn,
# named after it. Its local `workers` is not the directive.
module Metrics
  module Support
    module Unicorn
      def self.worker_id
        return unless defined?(::Unicorn::Worker)

        workers = ObjectSpace.each_object(::Unicorn::Worker)
        return if workers.nil?

        workers.first&.nr
      end
    end
  end
end

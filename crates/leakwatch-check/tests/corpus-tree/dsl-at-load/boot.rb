require_relative "lib/pattern"
require_relative "lib/regular"

Pattern.start_watchdog if ENV["WATCHDOG_USEC"]

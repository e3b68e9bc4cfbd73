# Look-alikes: drained, capped, registered at boot, or per request.
PENDING = []
HOOKS = []

def enqueue(event)
  PENDING << event
end

def flush
  batch = PENDING.dup
  PENDING.clear
  batch
end

class Recent
  @@last = []

  def add(item)
    @@last << item
    @@last.shift if @@last.size > 100
  end
end

def register_hook(hook)
  HOOKS << hook
end

def handle(request)
  errors = []
  errors << request.path
  errors
end

# A mixin: a module's instance methods keep their @ivars in each object
# that includes the module (here, one view per request), not in the module.
module PageHelpers
  def add_to_footer
    @footer_parts ||= []
    @footer_parts << yield.dup if block_given?
  end

  def footer_html
    @footer_parts.join if defined?(@footer_parts)
  end
end

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

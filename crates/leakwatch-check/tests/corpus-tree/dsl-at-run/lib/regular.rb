class Regular < Pattern
  supported_options :check_anchors
end

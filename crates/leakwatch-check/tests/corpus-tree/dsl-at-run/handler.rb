class OptionsController
  def create
    Pattern.supported_options(params[:option].to_sym)
    Pattern.start_watchdog
  end
end

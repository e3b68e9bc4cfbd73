Registry.with_options(model: true) do |r|
  r.add_module :database_authenticatable
end

class ModulesController
  def create
    Registry.add_module(params[:name].to_sym)
  end
end

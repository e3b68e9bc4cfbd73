Registry.with_options(model: true) do |r|
  r.add_module :database_authenticatable, strategy: true
  r.add_module :rememberable, strategy: true
end

# A config is imported by its natural key tenant/application/environment/name.
terraform import conflux_config.db acme/shop/prod/db.json

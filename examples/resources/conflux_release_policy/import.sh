# A release policy is imported by the id of its config.
terraform import conflux_release_policy.db acme/shop/prod/db.json

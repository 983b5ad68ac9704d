# Read a config whoever declares it: Terraform, a Git repository or Kubernetes.
data "conflux_config" "db" {
  tenant      = "acme"
  application = "shop"
  environment = "prod"
  name        = "db.json"
}

output "db_config_owner" {
  value = data.conflux_config.db.owner
}

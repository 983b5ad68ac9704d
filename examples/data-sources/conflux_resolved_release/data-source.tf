# Which version does a canary client receive?
data "conflux_resolved_release" "canary" {
  config_id = "acme/shop/prod/db.json"
  labels    = { canary = "true" }
}

output "canary_version" {
  value = data.conflux_resolved_release.canary.version_id
}

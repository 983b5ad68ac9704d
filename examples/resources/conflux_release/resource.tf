resource "conflux_release" "v3" {
  config_id   = conflux_config.db.id
  content     = jsonencode({ pool = 10 })
  description = "v3: pool of 10"
  is_stable   = true
}

resource "conflux_release_policy" "db" {
  config_id = conflux_config.db.id

  # Clients labelled canary=true get v4 ...
  rule {
    priority   = 100
    version_id = conflux_release.v4.version_id
    labels     = { canary = "true" }
  }

  # ... everyone else gets v3 (a rule without labels is the default).
  rule {
    priority   = 1
    version_id = conflux_release.v3.version_id
  }
}

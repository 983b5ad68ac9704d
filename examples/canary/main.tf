# The design's example, complete: a Conflux config with a JSON Schema (read
# from schema.json, pretty-printed as people write it) and a retention
# policy, a stable release v3 and a canary release v4, a policy sending
# canary clients to v4 and everyone else to v3, and what a client of each
# kind resolves to. See README.md next to this file.
#
# Run it against a local cluster (see docs/terraform/index.md):
#   conflux-sync dev                  # prints the admin address and token
#   export CONFLUX_SYNC_ADDR=... CONFLUX_SYNC_TOKEN=...
#   terraform apply
#
# The provider block is left out on purpose: the provider reads
# CONFLUX_SYNC_ADDR and CONFLUX_SYNC_TOKEN, so no credential lands in the
# file and it runs unedited against any cluster.

terraform {
  required_providers {
    conflux = {
      source = "conflux-sync/conflux"
    }
  }
}

resource "conflux_config" "db" {
  tenant      = "acme"
  application = "shop"
  environment = "staging" # conflux-sync dev's demo already publishes acme/shop/prod/db.json
  name        = "db.json"
  format      = "json"
  description = "Connection pool of the shop database"

  # Every release's content must carry a positive integer pool. The
  # file's whitespace and key order never show as a difference.
  schema = file("${path.module}/schema.json")

  # Keep the 10 newest versions; Conflux never prunes one a policy uses.
  retention_policy {
    strategy = "OR"
    rules {
      type = "count"
      keep = 10
    }
  }
}

resource "conflux_release" "v3" {
  config_id   = conflux_config.db.id
  content     = jsonencode({ pool = 10 })
  description = "v3"
  is_stable   = true
}

# Changing the content publishes a new version, and the canary rule below
# follows it in the same terraform apply.
resource "conflux_release" "v4" {
  config_id   = conflux_config.db.id
  content     = jsonencode({ pool = 20 })
  description = "v4 (canary)"
}

resource "conflux_release_policy" "db" {
  config_id = conflux_config.db.id

  rule {
    priority   = 100
    version_id = conflux_release.v4.version_id
    labels     = { canary = "true" }
  }

  # The default rule: labels = {} as the design writes it, or no labels
  # at all; both mean the same.
  rule {
    priority   = 1
    version_id = conflux_release.v3.version_id
    labels     = {}
  }
}

# What a canary client and any other client receive. depends_on makes the
# reads wait for the policy, which they do not otherwise reference.
data "conflux_resolved_release" "canary" {
  config_id  = conflux_config.db.id
  labels     = { canary = "true" }
  depends_on = [conflux_release_policy.db]
}

data "conflux_resolved_release" "everyone" {
  config_id  = conflux_config.db.id
  labels     = { region = "eu" }
  depends_on = [conflux_release_policy.db]
}

output "stable_version" {
  value = conflux_release.v3.version_id
}

output "canary_version" {
  value = conflux_release.v4.version_id
}

output "canary_client_gets" {
  value = data.conflux_resolved_release.canary.version_id
}

output "canary_client_priority" {
  value = data.conflux_resolved_release.canary.matched_priority
}

output "other_client_gets" {
  value = data.conflux_resolved_release.everyone.version_id
}

output "other_client_priority" {
  value = data.conflux_resolved_release.everyone.matched_priority
}

resource "conflux_config" "db" {
  tenant      = "acme"
  application = "shop"
  environment = "prod"
  name        = "db.json"
  format      = "json"
  description = "Connection pool of the shop database"

  schema = jsonencode({
    type       = "object"
    required   = ["pool"]
    properties = { pool = { type = "integer", minimum = 1 } }
  })

  retention_policy {
    strategy = "OR"
    rules {
      type = "count"
      keep = 10
    }
  }
}

# Credentials are best left to the environment:
#   export CONFLUX_SYNC_ADDR=https://conflux-sync.internal:7780
#   export CONFLUX_SYNC_TOKEN=...   # an admin API token with the write role
provider "conflux" {
  # server_endpoint = "https://conflux-sync.internal:7780" # default: $CONFLUX_SYNC_ADDR
  # auth_token      = var.conflux_sync_token              # default: $CONFLUX_SYNC_TOKEN
  # auth_token_file = "/var/run/secrets/conflux-sync/token" # instead of auth_token: a token that may rotate during an apply
  ca_file = "/etc/conflux-sync/ca.pem" # only for an https endpoint signed by a private CA
}

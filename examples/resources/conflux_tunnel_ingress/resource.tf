# Adds api.example.com/v1 to the tunnel whose cloudflare.Tunnel target is
# ClusterTunnel/edge (e.g. a Kubernetes ClusterTunnel named edge); the
# tunnel's other rules, from Ingresses, Git or the admin API, stay.
resource "conflux_tunnel_ingress" "api" {
  tunnel   = "ClusterTunnel/edge"
  hostname = "api.example.com"
  path     = "^/v1"
  service  = "http://api.default.svc:8080"

  origin_request {
    connect_timeout  = 10 # seconds
    http_host_header = "api.internal"
  }
}

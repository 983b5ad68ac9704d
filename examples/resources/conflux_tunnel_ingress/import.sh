# A rule is imported as tunnel|hostname|path (path may be empty, and may itself contain "|").
terraform import conflux_tunnel_ingress.api 'ClusterTunnel/edge|api.example.com|^/v1'
terraform import conflux_tunnel_ingress.www 'ClusterTunnel/edge|www.example.com|'

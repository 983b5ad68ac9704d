// Package cloudflare is an in-memory HTTP double of the Cloudflare v4 API,
// faithful enough for the unmodified cloudflare-go v0.119.0 client pointed at
// it with cloudflare.BaseURL(srvURL + "/client/v4"). It imports only the
// standard library and keeps all state in memory.
//
// Covered endpoints (relative to /client/v4):
//
//	GET    /zones, /zones/{zone}
//	GET    /zones/{zone}/dns_records[/{id}], POST, PATCH, PUT, DELETE, POST .../batch
//	GET    /accounts/{a}/cfd_tunnel[/{id}], POST, DELETE, GET .../{id}/token
//	GET    /accounts/{a}/cfd_tunnel/{id}/configurations, PUT
//	GET    /accounts/{a}/access/apps[/{id}], POST, PUT, DELETE
//	       /accounts/{a}/teamnet/routes (list, by id, by CIDR with %2F, by IP)
//
// Test-only endpoints under /__emulator/ need no token: POST/DELETE
// /__emulator/faults and GET /__emulator/requests; Server.AddFault,
// ClearFaults, Requests and Reset do the same from Go.
//
// Error codes whose real value is not documented and were chosen here:
// tunnel duplicate name 409/1013 (taken from third-party fakes), unknown
// tunnel or route 404/1003, bad request bodies and secrets 400/1001,
// duplicate route 409/1014, oversize DNS batch 400/1004, non-integer tunnel
// durations 400/1001, injected faults code 10001 (971 for 429).
package cloudflare

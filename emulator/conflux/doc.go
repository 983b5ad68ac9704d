// Package conflux is the reference Conflux server: a configuration service
// whose configs (keyed by tenant, application, environment and name) have
// immutable versions and a release policy choosing which version a client
// with given labels receives. The HTTP API is specified in
// docs/conflux-api.md and docs/conflux-openapi.yaml; this package is the
// executable form of that specification, used by `conflux-sync emulator
// conflux` and tests (and by `conflux-sync dev` once the Conflux sink lands). It imports only the standard
// library and bbolt.
//
// Endpoints (bearer token required):
//
//	POST   /v1/configs                       create (201, ETag; 409 on a duplicate key)
//	GET    /v1/configs                       list (tenant/application/environment/name filters, page_size, page_token)
//	GET    /v1/configs/{id}                  get (ETag)
//	PATCH  /v1/configs/{id}                  update description/schema/retention_policy (If-Match required: 428/412)
//	DELETE /v1/configs/{id}                  delete with versions and policy (If-Match optional: 412)
//	POST   /v1/configs/{id}/versions         publish (Idempotency-Key required)
//	GET    /v1/configs/{id}/versions         list, newest first (page_size, page_token, stable)
//	GET    /v1/configs/{id}/versions/{vid}   get
//	GET    /v1/configs/{id}/policy           release policy (ETag)
//	PUT    /v1/configs/{id}/policy           replace it (If-Match; optional only before the first write)
//	GET    /v1/resolve                       the version a client with label.k=v labels receives (ETag, 304)
//
// Errors are RFC 9457 problem details (application/problem+json); 422
// validation problems list errors[].pointer, JSON pointers into the request
// body (below /content they point into the parsed content document).
//
// Test-only endpoints under /__emulator/ need no token: POST/DELETE
// /__emulator/faults and GET /__emulator/requests; Server.AddFault,
// ClearFaults, Requests and Reset do the same from Go. Request counts are
// keyed "METHOD /v1/route/{pattern}". /__emulator/tokens rotates the
// accepted tokens at run time: POST {"token"} adds one, DELETE {"token"}
// revokes one at once, GET lists each token's requests, writes and
// refusals by fingerprint (never the token); Server.AddToken, RevokeToken
// and TokenUses from Go.
//
// Persistence: New keeps state in memory. Open with Config.DataFile loads a
// bbolt file and writes every change through to it; each request's changes
// (config, new version, pruned versions, policy, idempotency record) are
// one bbolt transaction written before memory changes and before the
// response is sent, so a failed write (500) changes nothing. Tokens, faults
// and request counts are not saved.
//
// Retention runs after every publish and after an update that changes
// retention_policy; Config.Now is the clock it ages versions with.
package conflux

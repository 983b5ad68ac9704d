package cloudflare_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cloudflare/cloudflare-go/v6/dns"
	"github.com/cloudflare/cloudflare-go/v6/shared"
	"github.com/cloudflare/cloudflare-go/v6/zero_trust"
	"github.com/cloudflare/cloudflare-go/v6/zones"

	emu "github.com/conflux-sync/conflux-sync/emulator/cloudflare"
)

// schemaCall is one request of the schema suite: the emulator's answer is
// decoded with cloudflare-go v6's type for that endpoint (generated from
// Cloudflare's OpenAPI schema) and every field the type has must be in
// the answer with the schema's JSON type.
type schemaCall struct {
	// route is the emulator's route pattern the call exercises, as
	// Server.Routes lists it.
	route string
	// path is the request path under /client/v4; {name} is replaced by
	// the id an earlier call saved under name.
	path string
	body string
	// result returns a pointer to v6's type for the envelope's result;
	// nil when the result is not an object (a token string).
	result func() any
	// save records result.id under this name for later paths.
	save string
	// omitted are the schema's fields the emulator leaves out on purpose
	// (paths as reported, [] for any index; a list's leading "[]." is
	// dropped), each with the reason. The
	// real API omits them too, or they describe a feature the emulator
	// does not model; either way the choice is written down here.
	omitted map[string]string
}

// Reasons shared by several endpoints.
const (
	notModelledZone  = "zone plans, owners, name servers and hosting details are not modelled; conflux-sync reads only id, name, status and account"
	recordSettings   = "record settings are not modelled: records answer settings {} as the API does for a record that sets none"
	appUnsetOptional = "an optional setting the API leaves out of the answer until it is set; the emulator does the same"
	appNotModelled   = "not modelled: conflux-sync does not manage MFA, OAuth, SCIM, iframes, clientless isolation or service tokens in headers; the emulator stores such a setting when given but has no default for it"
	echoedAsWritten  = "the tunnel configuration is stored and returned as written; a key its writer left out stays out"
)

// appOmitted: optional settings the API leaves out until they are set,
// and settings of features the emulator does not model.
var appOmitted = map[string]string{
	"allow_authenticate_via_warp":               appUnsetOptional,
	"cors_headers":                              appUnsetOptional,
	"custom_deny_message":                       appUnsetOptional,
	"custom_deny_url":                           appUnsetOptional,
	"custom_non_identity_deny_url":              appUnsetOptional,
	"logo_url":                                  appUnsetOptional,
	"same_site_cookie_attribute":                appUnsetOptional,
	"allow_iframe":                              appNotModelled,
	"mfa_config":                                appNotModelled,
	"oauth_configuration":                       appNotModelled,
	"read_service_tokens_from_header":           appNotModelled,
	"scim_config":                               appNotModelled,
	"use_clientless_isolation_app_launcher_url": appNotModelled,
}

// policyOmitted: optional settings a policy answers only once set.
var policyOmitted = map[string]string{
	"approval_groups[].email_list_uuid": "an approval group of email addresses names no list; the key is left out, as the API does",
	"connection_rules":                  "only policies of infrastructure applications carry connection rules; left out until set",
	"purpose_justification_prompt":      appUnsetOptional,
	"mfa_config":                        "not modelled: conflux-sync does not manage per-policy MFA",
}

// idpOmitted: the SCIM secret is answered once, when Cloudflare makes it.
var idpOmitted = map[string]string{
	"scim_config.secret": "the SCIM secret is answered only when Cloudflare generates it (not modelled: the emulator makes none)",
}

// listOmitted: a Gateway list is answered with its count, its items are
// read from .../items.
var listOmitted = map[string]string{
	"items": "a list is answered without its items (count only), as the API does; they are paged from .../items",
}

// tunnelConfigOmitted: the configuration is stored and echoed as
// written, so keys its writer left out stay out.
var tunnelConfigOmitted = map[string]string{
	"config.originRequest":           echoedAsWritten,
	"config.ingress[].originRequest": echoedAsWritten,
	"config.ingress[].path":          echoedAsWritten,
	"config.ingress[].hostname":      echoedAsWritten,
}

var zoneOmitted = map[string]string{
	"verification_key": "only a partial (CNAME setup) zone has a verification key; the emulator's zones are full",
}

// recordOmitted: per-record settings and private routing are not part of
// what conflux-sync writes, and the API leaves out of settings what a
// record does not set.
var recordOmitted = map[string]string{
	"settings.ipv4_only":         recordSettings,
	"settings.ipv6_only":         recordSettings,
	"posts[].settings.ipv4_only": recordSettings,
	"posts[].settings.ipv6_only": recordSettings,
	"private_routing":            "private routing to the origin (Cloudflare One) is not modelled; conflux-sync does not set it",
}

// TestSchemaFidelityV6 calls every API route the emulator serves and
// checks each answer against cloudflare-go v6's generated types: a field
// the schema has that the emulator omits or mistypes fails the test,
// unless the call lists it, with its reason, in omitted. A route with no
// call fails as well, so a new endpoint cannot skip the suite.
func TestSchemaFidelityV6(t *testing.T) {
	e := newEnv(t, emu.Config{})
	ids := map[string]string{"zone": e.zone, "account": acct}
	secret := secret(t)

	calls := []schemaCall{
		{route: "GET /zones", path: "/zones", result: sliceOf[zones.Zone], omitted: zoneOmitted},
		{route: "GET /zones/{zone}", path: "/zones/{zone}", result: newOf[zones.Zone], omitted: zoneOmitted},

		{route: "POST /zones/{zone}/dns_records", path: "/zones/{zone}/dns_records", save: "record",
			body:   `{"type":"A","name":"www.example.com","content":"192.0.2.1","ttl":1,"proxied":true,"comment":"c","tags":["team:edge"]}`,
			result: newOf[dns.RecordResponse], omitted: recordOmitted},
		{route: "POST /zones/{zone}/dns_records", path: "/zones/{zone}/dns_records",
			body:   `{"type":"SRV","name":"_sip._tcp.example.com","data":{"priority":10,"weight":5,"port":5060,"target":"sip.example.com"},"ttl":300}`,
			result: newOf[dns.RecordResponse], omitted: recordOmitted},
		{route: "POST /zones/{zone}/dns_records", path: "/zones/{zone}/dns_records",
			body:   `{"type":"CAA","name":"example.com","data":{"flags":0,"tag":"issue","value":"letsencrypt.org"}}`,
			result: newOf[dns.RecordResponse], omitted: recordOmitted},
		{route: "POST /zones/{zone}/dns_records", path: "/zones/{zone}/dns_records",
			body:   `{"type":"HTTPS","name":"svc.example.com","data":{"priority":1,"target":".","value":"alpn=\"h3,h2\""}}`,
			result: newOf[dns.RecordResponse], omitted: recordOmitted},
		{route: "POST /zones/{zone}/dns_records", path: "/zones/{zone}/dns_records",
			body:   `{"type":"MX","name":"example.com","content":"mail.example.com","priority":10}`,
			result: newOf[dns.RecordResponse], omitted: recordOmitted},
		{route: "GET /zones/{zone}/dns_records", path: "/zones/{zone}/dns_records", result: sliceOf[dns.RecordResponse], omitted: recordOmitted},
		{route: "GET /zones/{zone}/dns_records/{id}", path: "/zones/{zone}/dns_records/{record}", result: newOf[dns.RecordResponse], omitted: recordOmitted},
		{route: "PATCH /zones/{zone}/dns_records/{id}", path: "/zones/{zone}/dns_records/{record}",
			body: `{"comment":"patched"}`, result: newOf[dns.RecordResponse], omitted: recordOmitted},
		{route: "PUT /zones/{zone}/dns_records/{id}", path: "/zones/{zone}/dns_records/{record}",
			body: `{"type":"A","name":"www.example.com","content":"192.0.2.2","ttl":300}`, result: newOf[dns.RecordResponse], omitted: recordOmitted},
		{route: "POST /zones/{zone}/dns_records/batch", path: "/zones/{zone}/dns_records/batch",
			body:   `{"posts":[{"type":"TXT","name":"batch.example.com","content":"\"hello\""}]}`,
			result: newOf[dns.RecordBatchResponse], omitted: recordOmitted},

		{route: "POST /accounts/{account}/cfd_tunnel", path: "/accounts/{account}/cfd_tunnel", save: "tunnel",
			body:   `{"name":"edge","tunnel_secret":"` + secret + `","config_src":"cloudflare"}`,
			result: newOf[shared.CloudflareTunnel]},
		{route: "GET /accounts/{account}/cfd_tunnel", path: "/accounts/{account}/cfd_tunnel", result: sliceOf[shared.CloudflareTunnel]},
		{route: "GET /accounts/{account}/cfd_tunnel/{id}", path: "/accounts/{account}/cfd_tunnel/{tunnel}", result: newOf[shared.CloudflareTunnel]},
		{route: "GET /accounts/{account}/cfd_tunnel/{id}/token", path: "/accounts/{account}/cfd_tunnel/{tunnel}/token"},
		{route: "PUT /accounts/{account}/cfd_tunnel/{id}/configurations", path: "/accounts/{account}/cfd_tunnel/{tunnel}/configurations",
			body:   `{"config":{"ingress":[{"hostname":"app.example.com","service":"http://app:80"},{"service":"http_status:404"}]}}`,
			result: newOf[zero_trust.TunnelCloudflaredConfigurationUpdateResponse], omitted: tunnelConfigOmitted},
		{route: "GET /accounts/{account}/cfd_tunnel/{id}/configurations", path: "/accounts/{account}/cfd_tunnel/{tunnel}/configurations",
			result: newOf[zero_trust.TunnelCloudflaredConfigurationGetResponse], omitted: tunnelConfigOmitted},

		{route: "POST /accounts/{account}/teamnet/virtual_networks", path: "/accounts/{account}/teamnet/virtual_networks", save: "vnet",
			body: `{"name":"prod","comment":"production"}`, result: newOf[zero_trust.VirtualNetwork]},
		{route: "GET /accounts/{account}/teamnet/virtual_networks", path: "/accounts/{account}/teamnet/virtual_networks",
			result: sliceOf[zero_trust.VirtualNetwork]},
		{route: "PATCH /accounts/{account}/teamnet/virtual_networks/{id}", path: "/accounts/{account}/teamnet/virtual_networks/{vnet}",
			body: `{"comment":"patched"}`, result: newOf[zero_trust.VirtualNetwork]},
		{route: "GET /accounts/{account}/teamnet/virtual_networks/{id}", path: "/accounts/{account}/teamnet/virtual_networks/{vnet}",
			result: newOf[zero_trust.VirtualNetwork]},

		{route: "POST /accounts/{account}/teamnet/routes", path: "/accounts/{account}/teamnet/routes", save: "route",
			body:   `{"network":"10.1.0.0/16","tunnel_id":"{tunnel}","comment":"c","virtual_network_id":"{vnet}"}`,
			result: newOf[zero_trust.Route]},
		{route: "GET /accounts/{account}/teamnet/routes", path: "/accounts/{account}/teamnet/routes", result: sliceOf[zero_trust.Teamnet]},
		{route: "GET /accounts/{account}/teamnet/routes/{route}", path: "/accounts/{account}/teamnet/routes/{route}", result: newOf[zero_trust.Route]},
		{route: "PATCH /accounts/{account}/teamnet/routes/{route}", path: "/accounts/{account}/teamnet/routes/{route}",
			body: `{"comment":"patched"}`, result: newOf[zero_trust.Route]},
		{route: "GET /accounts/{account}/teamnet/routes/ip/{ip}", path: "/accounts/{account}/teamnet/routes/ip/10.1.2.3?virtual_network_id={vnet}",
			result: newOf[zero_trust.Teamnet]},
		{route: "POST /accounts/{account}/teamnet/routes/network/{cidr}", path: "/accounts/{account}/teamnet/routes/network/10.2.0.0%2F16",
			body: `{"tunnel_id":"{tunnel}","comment":"by network"}`, result: newOf[zero_trust.Route]},
		{route: "PATCH /accounts/{account}/teamnet/routes/network/{cidr}", path: "/accounts/{account}/teamnet/routes/network/10.2.0.0%2F16",
			body: `{"tunnel_id":"{tunnel}","comment":"patched by network"}`, result: newOf[zero_trust.Route]},
		{route: "DELETE /accounts/{account}/teamnet/routes/network/{cidr}", path: "/accounts/{account}/teamnet/routes/network/10.2.0.0%2F16",
			body: `{"tunnel_id":"{tunnel}"}`, result: newOf[zero_trust.Route]},

		{route: "POST /accounts/{account}/access/groups", path: "/accounts/{account}/access/groups", save: "group",
			body:   `{"name":"admins","include":[{"email":{"email":"a@example.com"}}],"exclude":[{"ip":{"ip":"192.0.2.0/24"}}],"require":[{"everyone":{}}]}`,
			result: newOf[zero_trust.AccessGroupNewResponse]},
		{route: "GET /accounts/{account}/access/groups", path: "/accounts/{account}/access/groups", result: sliceOf[zero_trust.AccessGroupListResponse]},
		{route: "GET /accounts/{account}/access/groups/{id}", path: "/accounts/{account}/access/groups/{group}", result: newOf[zero_trust.AccessGroupGetResponse]},
		{route: "PUT /accounts/{account}/access/groups/{id}", path: "/accounts/{account}/access/groups/{group}",
			body:   `{"name":"admins","include":[{"email_domain":{"domain":"example.com"}}]}`,
			result: newOf[zero_trust.AccessGroupUpdateResponse]},

		{route: "POST /accounts/{account}/access/policies", path: "/accounts/{account}/access/policies", save: "policy",
			body:   `{"name":"Allow staff","decision":"allow","include":[{"group":{"id":"{group}"}}],"session_duration":"8h","purpose_justification_required":true,"purpose_justification_prompt":"why?","approval_required":true,"approval_groups":[{"email_addresses":["boss@example.com"],"approvals_needed":1}]}`,
			result: newOf[zero_trust.AccessPolicyNewResponse], omitted: policyOmitted},
		{route: "GET /accounts/{account}/access/policies", path: "/accounts/{account}/access/policies", result: sliceOf[zero_trust.AccessPolicyListResponse], omitted: policyOmitted},
		{route: "GET /accounts/{account}/access/policies/{id}", path: "/accounts/{account}/access/policies/{policy}", result: newOf[zero_trust.AccessPolicyGetResponse], omitted: policyOmitted},
		{route: "PUT /accounts/{account}/access/policies/{id}", path: "/accounts/{account}/access/policies/{policy}",
			body:   `{"name":"Allow staff","decision":"allow","include":[{"everyone":{}}]}`,
			result: newOf[zero_trust.AccessPolicyUpdateResponse], omitted: policyOmitted},

		{route: "POST /accounts/{account}/access/service_tokens", path: "/accounts/{account}/access/service_tokens", save: "token",
			body: `{"name":"ci","duration":"8760h"}`, result: newOf[zero_trust.AccessServiceTokenNewResponse]},
		{route: "GET /accounts/{account}/access/service_tokens", path: "/accounts/{account}/access/service_tokens", result: sliceOf[zero_trust.ServiceToken]},
		{route: "GET /accounts/{account}/access/service_tokens/{id}", path: "/accounts/{account}/access/service_tokens/{token}", result: newOf[zero_trust.ServiceToken]},
		{route: "PUT /accounts/{account}/access/service_tokens/{id}", path: "/accounts/{account}/access/service_tokens/{token}",
			body: `{"name":"ci","duration":"720h"}`, result: newOf[zero_trust.ServiceToken]},
		{route: "POST /accounts/{account}/access/service_tokens/{id}/refresh", path: "/accounts/{account}/access/service_tokens/{token}/refresh",
			result: newOf[zero_trust.ServiceToken]},
		{route: "POST /accounts/{account}/access/service_tokens/{id}/rotate", path: "/accounts/{account}/access/service_tokens/{token}/rotate",
			result: newOf[zero_trust.AccessServiceTokenRotateResponse]},

		{route: "POST /accounts/{account}/access/identity_providers", path: "/accounts/{account}/access/identity_providers", save: "idp",
			body:   `{"name":"GitHub","type":"github","config":{"client_id":"abc","client_secret":"s3cret"}}`,
			result: newOf[zero_trust.IdentityProviderAccessGitHub], omitted: idpOmitted},
		{route: "GET /accounts/{account}/access/identity_providers", path: "/accounts/{account}/access/identity_providers",
			result: sliceOf[zero_trust.IdentityProviderAccessGitHub], omitted: idpOmitted},
		{route: "GET /accounts/{account}/access/identity_providers/{id}", path: "/accounts/{account}/access/identity_providers/{idp}",
			result: newOf[zero_trust.IdentityProviderAccessGitHub], omitted: idpOmitted},
		{route: "PUT /accounts/{account}/access/identity_providers/{id}", path: "/accounts/{account}/access/identity_providers/{idp}",
			body:   `{"name":"GitHub","type":"github","config":{"client_id":"abc","client_secret":"**********"}}`,
			result: newOf[zero_trust.IdentityProviderAccessGitHub], omitted: idpOmitted},

		{route: "POST /accounts/{account}/access/apps", path: "/accounts/{account}/access/apps", save: "app",
			body:   `{"name":"app","domain":"app.example.com","type":"self_hosted","session_duration":"8h"}`,
			result: newOf[zero_trust.AccessApplicationNewResponse], omitted: appOmitted},
		{route: "GET /accounts/{account}/access/apps", path: "/accounts/{account}/access/apps", result: sliceOf[zero_trust.AccessApplicationListResponse], omitted: appOmitted},
		{route: "GET /accounts/{account}/access/apps/{id}", path: "/accounts/{account}/access/apps/{app}", result: newOf[zero_trust.AccessApplicationGetResponse], omitted: appOmitted},
		{route: "PUT /accounts/{account}/access/apps/{id}", path: "/accounts/{account}/access/apps/{app}",
			body:   `{"name":"app","domain":"app.example.com","type":"self_hosted"}`,
			result: newOf[zero_trust.AccessApplicationUpdateResponse], omitted: appOmitted},

		{route: "POST /accounts/{account}/gateway/lists", path: "/accounts/{account}/gateway/lists", save: "list",
			body:   `{"name":"blocked","type":"DOMAIN","description":"d","items":[{"value":"malware.example.net","description":"seen"}]}`,
			result: newOf[zero_trust.GatewayListNewResponse], omitted: listOmitted},
		{route: "GET /accounts/{account}/gateway/lists", path: "/accounts/{account}/gateway/lists", result: sliceOf[zero_trust.GatewayList], omitted: listOmitted},
		{route: "GET /accounts/{account}/gateway/lists/{id}", path: "/accounts/{account}/gateway/lists/{list}", result: newOf[zero_trust.GatewayList], omitted: listOmitted},
		{route: "GET /accounts/{account}/gateway/lists/{id}/items", path: "/accounts/{account}/gateway/lists/{list}/items",
			result: sliceOf[zero_trust.GatewayItem]},
		{route: "PATCH /accounts/{account}/gateway/lists/{id}", path: "/accounts/{account}/gateway/lists/{list}",
			body: `{"append":[{"value":"phishing.example.net"}],"remove":["malware.example.net"]}`, result: newOf[zero_trust.GatewayList], omitted: listOmitted},
		{route: "PUT /accounts/{account}/gateway/lists/{id}", path: "/accounts/{account}/gateway/lists/{list}",
			body:   `{"name":"blocked","description":"d2","items":[{"value":"malware.example.net"}]}`,
			result: newOf[zero_trust.GatewayList], omitted: listOmitted},
		{route: "POST /accounts/{account}/gateway/rules", path: "/accounts/{account}/gateway/rules", save: "rule",
			body:   `{"name":"block listed","action":"block","enabled":true,"filters":["dns"],"traffic":"any(dns.domains[*] in ${list})","precedence":10}`,
			result: newOf[zero_trust.GatewayRule]},
		{route: "GET /accounts/{account}/gateway/rules", path: "/accounts/{account}/gateway/rules", result: sliceOf[zero_trust.GatewayRule]},
		{route: "GET /accounts/{account}/gateway/rules/{id}", path: "/accounts/{account}/gateway/rules/{rule}", result: newOf[zero_trust.GatewayRule]},
		{route: "PUT /accounts/{account}/gateway/rules/{id}", path: "/accounts/{account}/gateway/rules/{rule}",
			body:   `{"name":"block listed","action":"block","enabled":false,"filters":["dns"],"traffic":"any(dns.domains[*] in ${list})","precedence":11}`,
			result: newOf[zero_trust.GatewayRule]},

		// Deletions last, in dependency order.
		{route: "DELETE /accounts/{account}/gateway/rules/{id}", path: "/accounts/{account}/gateway/rules/{rule}",
			result: newOf[zero_trust.GatewayRuleDeleteResponse]},
		{route: "DELETE /accounts/{account}/gateway/lists/{id}", path: "/accounts/{account}/gateway/lists/{list}",
			result: newOf[zero_trust.GatewayListDeleteResponse]},
		{route: "DELETE /accounts/{account}/access/apps/{id}", path: "/accounts/{account}/access/apps/{app}",
			result: newOf[zero_trust.AccessApplicationDeleteResponse]},
		{route: "DELETE /accounts/{account}/access/policies/{id}", path: "/accounts/{account}/access/policies/{policy}",
			result: newOf[zero_trust.AccessPolicyDeleteResponse]},
		{route: "DELETE /accounts/{account}/access/service_tokens/{id}", path: "/accounts/{account}/access/service_tokens/{token}",
			result: newOf[zero_trust.ServiceToken]},
		{route: "DELETE /accounts/{account}/access/identity_providers/{id}", path: "/accounts/{account}/access/identity_providers/{idp}",
			result: newOf[zero_trust.IdentityProviderDeleteResponse]},
		{route: "DELETE /accounts/{account}/access/groups/{id}", path: "/accounts/{account}/access/groups/{group}",
			result: newOf[zero_trust.AccessGroupDeleteResponse]},
		{route: "DELETE /accounts/{account}/teamnet/routes/{route}", path: "/accounts/{account}/teamnet/routes/{route}",
			result: newOf[zero_trust.Route]},
		{route: "DELETE /accounts/{account}/teamnet/virtual_networks/{id}", path: "/accounts/{account}/teamnet/virtual_networks/{vnet}",
			result: newOf[zero_trust.VirtualNetwork]},
		{route: "DELETE /accounts/{account}/cfd_tunnel/{id}", path: "/accounts/{account}/cfd_tunnel/{tunnel}",
			result: newOf[shared.CloudflareTunnel]},
		{route: "DELETE /zones/{zone}/dns_records/{id}", path: "/zones/{zone}/dns_records/{record}",
			result: newOf[dns.RecordDeleteResponse]},
	}

	for _, c := range calls {
		t.Run(c.route, func(t *testing.T) {
			result := e.schemaRequest(t, c, ids)
			if c.result == nil {
				return
			}
			into := c.result()
			if err := json.Unmarshal(result, into); err != nil {
				t.Fatalf("decoding the result with v6's %T: %v\n%s", into, err, result)
			}
			for _, gap := range schemaGaps(reflect.ValueOf(into), "") {
				if _, ok := c.omitted[strings.TrimPrefix(gap.path, "[].")]; ok {
					continue
				}
				t.Errorf("%s: %s (in %T)", gap.path, gap.problem, into)
			}
			if c.save != "" {
				var obj struct {
					ID string `json:"id"`
				}
				if err := json.Unmarshal(result, &obj); err != nil || obj.ID == "" {
					t.Fatalf("no id to save as %q in %s", c.save, result)
				}
				ids[c.save] = obj.ID
			}
		})
	}

	for _, route := range e.emu.APIRoutes() {
		if !slices.ContainsFunc(calls, func(c schemaCall) bool { return c.route == route }) {
			t.Errorf("route %s has no call in the schema suite", route)
		}
		if e.emu.Requests()[route] == 0 {
			t.Errorf("route %s was not reached by its call", route)
		}
	}
}

func newOf[T any]() any   { return new(T) }
func sliceOf[T any]() any { return new([]T) }

var placeholder = regexp.MustCompile(`\{([a-z]+)\}`)

// schemaRequest sends c with the saved ids filled in and returns the
// envelope's result, failing on anything but a successful envelope.
func (e *env) schemaRequest(t *testing.T, c schemaCall, ids map[string]string) json.RawMessage {
	t.Helper()
	fill := func(s string) string {
		return placeholder.ReplaceAllStringFunc(s, func(m string) string {
			id, ok := ids[m[1:len(m)-1]]
			if !ok {
				t.Fatalf("%s: no id saved for %s yet", c.route, m)
			}
			return id
		})
	}
	method, _, _ := strings.Cut(c.route, " ")
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(fill(c.body))
	}
	req, err := http.NewRequestWithContext(ctx(t), method, e.srv.URL+"/client/v4"+fill(c.path), body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		Success *bool           `json:"success"`
		Result  json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(raw, &env); err != nil || resp.StatusCode/100 != 2 || env.Success == nil || !*env.Success {
		t.Fatalf("%s %s: %d %s", method, fill(c.path), resp.StatusCode, raw)
	}
	return env.Result
}

// schemaGap is a field of v6's type the answer lacks or mistypes.
type schemaGap struct{ path, problem string }

// schemaGaps walks a value decoded by cloudflare-go v6. Its types keep,
// beside the data, a JSON struct with one apijson.Field per schema field
// saying whether the key was present and of the right type; that is read
// through reflection, since apijson is internal to v6. A union is walked
// as the variant it decoded to (AsUnion), whose fields are the ones that
// variant must have.
func schemaGaps(v reflect.Value, path string) []schemaGap {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Slice, reflect.Array:
		var gaps []schemaGap
		for i := range v.Len() {
			gaps = append(gaps, schemaGaps(v.Index(i), path+"[]")...)
		}
		return gaps
	case reflect.Struct:
	default:
		return nil
	}
	if m := v.MethodByName("AsUnion"); m.IsValid() && m.Type().NumIn() == 0 && m.Type().NumOut() == 1 {
		variant := m.Call(nil)[0]
		if variant.IsValid() && !(variant.Kind() == reflect.Interface && variant.IsNil()) &&
			reflect.Indirect(variant.Elem()).Type() != v.Type() {
			return schemaGaps(variant, path)
		}
	}
	meta := v.FieldByName("JSON")
	if !meta.IsValid() || meta.Kind() != reflect.Struct {
		return nil
	}
	var gaps []schemaGap
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if f.Anonymous {
			// A union variant embeds the record's shared shape, which
			// keeps its own JSON metadata.
			gaps = append(gaps, schemaGaps(v.Field(i), path)...)
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || f.Name == "JSON" || name == "" || name == "-" {
			continue
		}
		status := meta.FieldByName(f.Name)
		if !status.IsValid() {
			continue
		}
		p := name
		if path != "" {
			p = path + "." + name
		}
		switch {
		case status.MethodByName("IsMissing").Call(nil)[0].Bool():
			gaps = append(gaps, schemaGap{p, "missing"})
		case status.MethodByName("IsInvalid").Call(nil)[0].Bool():
			gaps = append(gaps, schemaGap{p, fmt.Sprintf("not of the schema's type %s: %s", f.Type, status.MethodByName("Raw").Call(nil)[0])})
		case status.MethodByName("IsNull").Call(nil)[0].Bool():
		default:
			gaps = append(gaps, schemaGaps(v.Field(i), p)...)
		}
	}
	return gaps
}

// The suite must be able to fail: a record whose data lacks fields, a
// mistyped field, and a group rule without its value are reported.
func TestSchemaGapsReportsMissingAndMistyped(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		into       any
		want       []string
	}{
		{"union variant's nested field", `{"id":"r","type":"SRV","name":"_s._tcp.example.com","data":{"priority":1,"weight":1,"target":"t.example.com"}}`,
			new(dns.RecordResponse), []string{"data.port missing"}},
		{"mistyped", `{"id":"r","type":"A","name":"a.example.com","content":"192.0.2.1","ttl":"auto"}`,
			new(dns.RecordResponse), []string{"ttl not of the schema's type"}},
		{"rule union", `{"id":"g","name":"g","include":[{"email":{}}]}`,
			new(zero_trust.AccessGroupGetResponse), []string{"include[].email.email missing"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := json.Unmarshal([]byte(tc.body), tc.into); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, g := range schemaGaps(reflect.ValueOf(tc.into), "") {
				got = append(got, g.path+" "+g.problem)
			}
			for _, w := range tc.want {
				if !slices.ContainsFunc(got, func(g string) bool { return strings.HasPrefix(g, w) }) {
					t.Errorf("want a gap %q, got %q", w, got)
				}
			}
		})
	}
}

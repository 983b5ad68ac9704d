package translate

import (
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
)

func gatewayList(name, spec, listID string) *v1alpha2.GatewayList {
	return &v1alpha2.GatewayList{ObjectMeta: meta("", name, 2), Spec: &apiextensionsv1.JSON{Raw: []byte(spec)},
		Status: v1alpha2.ZeroTrustStatus{ListID: listID}}
}

func gatewayRule(name, spec, ruleID string) *v1alpha2.GatewayRule {
	return &v1alpha2.GatewayRule{ObjectMeta: meta("", name, 3), Spec: &apiextensionsv1.JSON{Raw: []byte(spec)},
		Status: v1alpha2.ZeroTrustStatus{RuleID: ruleID}}
}

const (
	cfSecret   = `"cloudflare":{"accountId":"` + acct1 + `","secret":"cf"}`
	credsJSON  = `"credentials":{"namespace":"conflux","name":"cf","key":"CLOUDFLARE_API_TOKEN"}`
	listUUID   = "5f0e1d2c-3b4a-4958-8a7b-6c5d4e3f2a1b"
	ruleUUID   = "1a2b3c4d-5e6f-4a8b-9c0d-e1f2a3b4c5d6"
	ruleTarget = "GatewayRule/" + acct1 + "/conflux/cf/CLOUDFLARE_API_TOKEN"
)

func TestGatewayListTranslate(t *testing.T) {
	tests := []struct {
		name, spec, listID string
		want, problems     string
	}{
		{
			// mirrors StringKe config/samples/networking_v1alpha2_gatewaylist.yaml
			name: "sample: DOMAIN items, the list cloudflare-operator made taken over",
			spec: `{"name":"Blocked Domains","description":"Domains blocked for all users","type":"DOMAIN",` +
				`"items":[{"value":"malware.example.net","description":"Known malware domain"},{"value":"phishing.example.net"}],` + cfSecret + `}`,
			listID: strings.ToUpper(listUUID),
			want: `cloudflare.GatewayList GatewayList/blocked 2 {"accountId":"` + acct1 + `","name":"Blocked Domains","description":"Domains blocked for all users","type":"DOMAIN",` +
				`"items":[{"value":"malware.example.net","description":"Known malware domain"},{"value":"phishing.example.net"}],"takeOver":"` + listUUID + `",` + credsJSON + `}
`,
		},
		{
			name: "no spec.name: the object's name",
			spec: `{"type":"IP",` + cfSecret + `}`,
			want: `cloudflare.GatewayList GatewayList/blocked 2 {"accountId":"` + acct1 + `","name":"blocked","type":"IP",` + credsJSON + `}
`,
		},
		{
			name:     "items from a ConfigMap",
			spec:     `{"type":"IP","itemsFromConfigMap":{"name":"ips","key":"list"},` + cfSecret + `}`,
			problems: "spec.itemsFromConfigMap: items read from a ConfigMap are not supported yet: list them in spec.items\n",
		},
		{
			name:     "an unknown field",
			spec:     `{"type":"IP","entries":[],` + cfSecret + `}`,
			problems: "spec.entries: is not a field of cloudflare-operator's GatewayList\n",
		},
		{
			name:     "no credentials",
			spec:     `{"type":"IP","cloudflare":{"accountId":"` + acct1 + `"}}`,
			problems: "spec.cloudflare.secret: is required",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := GatewayList(gatewayList("blocked", tt.spec, tt.listID), newFake(), opts)
			if got := problemsString(r.Problems); tt.problems != "" || got != "" {
				if !strings.HasPrefix(got, tt.problems) || tt.problems == "" || len(r.Fragments) != 0 {
					t.Fatalf("problems %q, want %q (fragments %s)", got, tt.problems, render(r))
				}
				return
			}
			validateAll(t, r, Source("GatewayList", "", "blocked"))
			if got := render(r); got != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestGatewayRuleTranslate(t *testing.T) {
	tests := []struct {
		name, spec, ruleID string
		want, problems     string
	}{
		{
			// mirrors StringKe config/samples/networking_v1alpha2_gatewayrule.yaml (filters and traffic as the API takes them)
			name: "sample: dns block, the rule cloudflare-operator made taken over",
			spec: `{"name":"Block Malware Sites","description":"Block access to known malware domains","action":"block",` +
				`"traffic":"any(dns.domains[*] in {\"malware.example.net\"})","filters":["dns"],"enabled":true,"precedence":100,` + cfSecret + `}`,
			ruleID: ruleUUID,
			want: `cloudflare.GatewayRule ` + ruleTarget + ` 3 {"accountId":"` + acct1 + `",` + credsJSON + `,"rules":[{"name":"Block Malware Sites","description":"Block access to known malware domains",` +
				`"action":"block","enabled":true,"filters":["dns"],"traffic":"any(dns.domains[*] in {\"malware.example.net\"})","precedence":100,"takeOver":"` + ruleUUID + `"}]}
`,
		},
		{
			// mirrors StringKe examples/04-gateway/gateway-rule/gateway-rule.yaml (isolate-risky-sites) and every other setting
			name: "every rule setting and the schedule, in the API's names",
			spec: `{"action":"isolate","filters":["http"],"precedence":0,"enabled":false,"identity":"any(identity.groups.name[*] in {\"HR\"})","devicePosture":"x == 1",` +
				`"ruleSettings":{"blockPageEnabled":true,"blockReason":"r","overrideIps":["192.0.2.1"],"overrideHost":"h.example.com","l4Override":{"ip":"10.0.0.1","port":22},` +
				`"bisoAdminControls":{"disablePrinting":true,"disableCopyPaste":true},"checkSession":{"enforce":true,"duration":"1h"},"addHeaders":{"X-A":"1"},` +
				`"insecureDisableDnssecValidation":true,"egress":{"ipv4":"192.0.2.9","ipv6":"2001:db8::/64","ipv4Fallback":"192.0.2.10"},"payloadLog":{"enabled":true},` +
				`"untrustedCertificateAction":"block","auditSsh":{"commandLogging":true},"resolveDnsInternally":{"viewId":"v1","fallback":true},` +
				`"resolveDnsThroughCloudflare":true,"dnsResolvers":{"ipv4":[{"ip":"10.0.0.53","port":5353,"vnetId":"vn","routeThroughPrivateNetwork":true}]},` +
				`"notificationSettings":{"enabled":true,"message":"m","supportUrl":"https://help.example.com"},"allowChildBypass":true,"bypassParentRule":false,` +
				`"ignoreCnameCategoryMatches":true,"ipCategories":true,"quarantine":{"fileTypes":["exe"]}},` + cfSecret + `}`,
			want: `cloudflare.GatewayRule ` + ruleTarget + ` 3 {"accountId":"` + acct1 + `",` + credsJSON + `,"rules":[{"name":"rule","action":"isolate","enabled":false,"filters":["http"],` +
				`"identity":"any(identity.groups.name[*] in {\"HR\"})","devicePosture":"x == 1","precedence":0,"ruleSettings":{"add_headers":{"X-A":["1"]},"allow_child_bypass":true,` +
				`"audit_ssh":{"command_logging":true},"biso_admin_controls":{"dcp":true,"dcr":false,"dd":false,"dk":false,"dp":true,"du":false},"block_page_enabled":true,"block_reason":"r",` +
				`"bypass_parent_rule":false,"check_session":{"duration":"1h","enforce":true},"dns_resolvers":{"ipv4":[{"ip":"10.0.0.53","port":5353,"route_through_private_network":true,"vnet_id":"vn"}],"ipv6":[]},` +
				`"egress":{"ipv4":"192.0.2.9","ipv4_fallback":"192.0.2.10","ipv6":"2001:db8::/64"},"ignore_cname_category_matches":true,"insecure_disable_dnssec_validation":true,"ip_categories":true,` +
				`"l4override":{"ip":"10.0.0.1","port":22},"notification_settings":{"enabled":true,"msg":"m","support_url":"https://help.example.com"},"override_host":"h.example.com","override_ips":["192.0.2.1"],` +
				`"payload_log":{"enabled":true},"quarantine":{"file_types":["exe"]},"resolve_dns_internally":{"fallback":"public_dns","view_id":"v1"},"resolve_dns_through_cloudflare":true,` +
				`"untrusted_cert":{"action":"block"}}}]}
`,
		},
		{
			name: "absent enabled is true (the CRD's default), schedule",
			spec: `{"name":"night","action":"block","filters":["dns"],"precedence":5,"schedule":{"timeZone":"UTC","mon":"00:00-06:00"},` + cfSecret + `}`,
			want: `cloudflare.GatewayRule ` + ruleTarget + ` 3 {"accountId":"` + acct1 + `",` + credsJSON + `,"rules":[{"name":"night","action":"block","filters":["dns"],"precedence":5,"schedule":{"mon":"00:00-06:00","time_zone":"UTC"}}]}
`,
		},
		{name: "no precedence", spec: `{"action":"block","filters":["dns"],` + cfSecret + `}`, problems: "spec.precedence: is required\n"},
		{name: "expiration", spec: `{"action":"block","filters":["dns"],"precedence":1,"expiration":{"duration":"1h"},` + cfSecret + `}`, problems: "spec.expiration: rule expiration is not supported yet"},
		{name: "indicator feeds", spec: `{"action":"block","filters":["dns"],"precedence":1,"ruleSettings":{"ipIndicatorFeeds":true},` + cfSecret + `}`, problems: "spec.ruleSettings.ipIndicatorFeeds: is not supported yet"},
		{name: "unknown setting", spec: `{"action":"block","filters":["dns"],"precedence":1,"ruleSettings":{"blockPage":true},` + cfSecret + `}`, problems: "spec.ruleSettings.blockPage: is not a field of cloudflare-operator's GatewayRule\n"},
		{name: "bad certificate action", spec: `{"action":"block","filters":["http"],"precedence":1,"ruleSettings":{"untrustedCertificateAction":"allow"},` + cfSecret + `}`, problems: `spec.ruleSettings.untrustedCertificateAction: "allow" is not one of pass_through, block, error`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := GatewayRule(gatewayRule("rule", tt.spec, tt.ruleID), newFake(), opts)
			if got := problemsString(r.Problems); tt.problems != "" || got != "" {
				if !strings.HasPrefix(got, tt.problems) || tt.problems == "" || len(r.Fragments) != 0 {
					t.Fatalf("problems %q, want %q (fragments %s)", got, tt.problems, render(r))
				}
				return
			}
			validateAll(t, r, Source("GatewayRule", "", "rule"))
			if got := render(r); got != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
			if k := GatewayRuleIDKey(r); !strings.HasPrefix(k, "rule:") {
				t.Fatalf("id key %q", k)
			}
		})
	}
}

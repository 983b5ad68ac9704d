package translate

import (
	"testing"

	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
)

func dnsRecord(ns, name string, spec v1alpha2.DNSRecordSpec) *v1alpha2.DNSRecord {
	return &v1alpha2.DNSRecord{ObjectMeta: meta(ns, name, 1), Spec: spec}
}

// docsCloudflare is what cloudflare-operator's DNSRecord documentation
// samples set: the zone by domain and a Secret.
func docsCloudflare() *v1alpha2.CloudflareDetails {
	return &v1alpha2.CloudflareDetails{Domain: "example.com", Secret: "cloudflare-api-credentials"}
}

func TestDNSRecordHappy(t *testing.T) {
	const docsCreds = `"credentials":{"namespace":"default","name":"cloudflare-api-credentials","key":"CLOUDFLARE_API_TOKEN"}`
	runRecCases(t, []recCase{
		{
			name: "MX with content", source: SourceDNSRecord, ns: "default", obj: "mx",
			run: func(f *fake) Result {
				r := dnsRecord("default", "mx", v1alpha2.DNSRecordSpec{
					Name: "Mail.Example.net", Type: "mx", Content: "mx1.provider.com", TTL: 3600, Priority: ptr(int32(10)),
					Comment: "mail", Tags: []string{"team:b", "env:prod", "team:b"}, Adopt: true,
					Cloudflare: &v1alpha2.CloudflareDetails{Domain: "example.net", Secret: "cf", CLOUDFLARE_API_TOKEN: "other", AccountID: acct2},
				})
				r.Generation = 4
				return DNSRecord(r, f, opts)
			},
			want: `cloudflare.DNSRecord example.net 4 {"accountId":"fedcba9876543210fedcba9876543210","records":[{"name":"mail.example.net","type":"MX","content":"mx1.provider.com","ttl":3600,"proxied":false,"priority":10,"comment":"mail","tags":["env:prod","team:b"],"adopt":true}],"credentials":{"namespace":"default","name":"cf","key":"other"}}
`,
			hostnames: []string{"mail.example.net"},
			status:    `{"fqdn":"mail.example.net"}`,
		},
		{
			name: "tunnelRef, relative name", source: SourceDNSRecord, ns: "infra", obj: "www",
			run: func(f *fake) Result {
				return DNSRecord(dnsRecord("infra", "www", v1alpha2.DNSRecordSpec{
					Name: "www", Type: "CNAME", TunnelRef: &v1alpha2.TunnelRef{Kind: "Tunnel", Name: "t1"},
				}), f, opts)
			},
			want: `cloudflare.DNSRecord example.org 1 {"accountId":"fedcba9876543210fedcba9876543210","records":[{"name":"www.example.org","type":"CNAME","tunnel":"Tunnel/infra/t1","proxied":true}],"credentials":{"namespace":"infra","name":"cf","key":"CLOUDFLARE_API_TOKEN"}}
`,
			tunnel: "Tunnel/infra/t1", hostnames: []string{"www.example.org"}, status: `{"fqdn":"www.example.org"}`,
		},
		{
			name: "tunnelRef at the apex of the tunnel's zone, no type, a default CloudflareDomain elsewhere", source: SourceDNSRecord, ns: "default", obj: "apex",
			run: func(f *fake) Result {
				f.domains[2].IsDefault = true
				return DNSRecord(dnsRecord("default", "apex", v1alpha2.DNSRecordSpec{
					Name: "@", Proxied: ptr(false), TunnelRef: &v1alpha2.TunnelRef{Kind: "ClusterTunnel", Name: "edge"},
				}), f, opts)
			},
			want: `cloudflare.DNSRecord example.com 1 {"accountId":"0123456789abcdef0123456789abcdef","records":[{"name":"example.com","type":"CNAME","tunnel":"ClusterTunnel/edge","proxied":false}],"credentials":{"namespace":"conflux","name":"cf","key":"CLOUDFLARE_API_TOKEN"}}
`,
			tunnel: "ClusterTunnel/edge", hostnames: []string{"example.com"}, status: `{"fqdn":"example.com"}`,
		},
		{
			name: "tunnelRef to a name in a CloudflareDomain: its zone, the tunnel's credentials", source: SourceDNSRecord, ns: "default", obj: "app",
			run: func(f *fake) Result {
				return DNSRecord(dnsRecord("default", "app", v1alpha2.DNSRecordSpec{
					Name: "app.apps.example.com", TunnelRef: &v1alpha2.TunnelRef{Kind: "ClusterTunnel", Name: "edge"},
				}), f, opts)
			},
			want: `cloudflare.DNSRecord apps.example.com 1 {"accountId":"0123456789abcdef0123456789abcdef","records":[{"name":"app.apps.example.com","type":"CNAME","tunnel":"ClusterTunnel/edge","proxied":true}],"credentials":{"namespace":"conflux","name":"cf","key":"CLOUDFLARE_API_TOKEN"}}
`,
			tunnel: "ClusterTunnel/edge", hostnames: []string{"app.apps.example.com"}, status: `{"fqdn":"app.apps.example.com"}`,
		},

		// cloudflare-operator's samples (examples/01-basic/dns, config/samples, docs, test/e2e).
		{
			name: "sample www A, relative name", source: SourceDNSRecord, ns: "default", obj: "www-record",
			run: func(f *fake) Result {
				return DNSRecord(dnsRecord("default", "www-record", v1alpha2.DNSRecordSpec{
					Name: "www", Type: "A", Content: "203.0.113.50", TTL: 1, Proxied: ptr(true), Comment: "Web server managed by K8s operator",
					Cloudflare: docsCloudflare(),
				}), f, opts)
			},
			want: `cloudflare.DNSRecord example.com 1 {"records":[{"name":"www.example.com","type":"A","content":"203.0.113.50","ttl":1,"proxied":true,"comment":"Web server managed by K8s operator"}],` + docsCreds + `}
`,
			hostnames: []string{"www.example.com"}, status: `{"fqdn":"www.example.com"}`,
		},
		{
			name: "sample blog CNAME", source: SourceDNSRecord, ns: "default", obj: "blog-cname",
			run: func(f *fake) Result {
				return DNSRecord(dnsRecord("default", "blog-cname", v1alpha2.DNSRecordSpec{
					Name: "blog", Type: "CNAME", Content: "www.example.com", Proxied: ptr(true), Cloudflare: docsCloudflare(),
				}), f, opts)
			},
			want: `cloudflare.DNSRecord example.com 1 {"records":[{"name":"blog.example.com","type":"CNAME","content":"www.example.com","proxied":true}],` + docsCreds + `}
`,
			hostnames: []string{"blog.example.com"}, status: `{"fqdn":"blog.example.com"}`,
		},
		{
			name: "sample TXT (with tags of Cloudflare's shape)", source: SourceDNSRecord, ns: "default", obj: "txt-verification",
			run: func(f *fake) Result {
				return DNSRecord(dnsRecord("default", "txt-verification", v1alpha2.DNSRecordSpec{
					Name: "_verify", Type: "TXT", Content: "verification-token-12345", TTL: 3600, Tags: []string{"purpose:verification", "vendor:google"},
					Proxied:    ptr(true), // ignored on a TXT record, as cloudflare-operator does
					Cloudflare: docsCloudflare(),
				}), f, opts)
			},
			want: `cloudflare.DNSRecord example.com 1 {"records":[{"name":"_verify.example.com","type":"TXT","content":"verification-token-12345","ttl":3600,"proxied":false,"tags":["purpose:verification","vendor:google"]}],` + docsCreds + `}
`,
			hostnames: []string{"_verify.example.com"}, status: `{"fqdn":"_verify.example.com"}`,
		},
		{
			name: "sample MX at the apex", source: SourceDNSRecord, ns: "default", obj: "mx-primary",
			run: func(f *fake) Result {
				return DNSRecord(dnsRecord("default", "mx-primary", v1alpha2.DNSRecordSpec{
					Name: "@", Type: "MX", Content: "mail.example.com", Priority: ptr(int32(10)), TTL: 3600, Comment: "Primary mail server",
					Cloudflare: docsCloudflare(),
				}), f, opts)
			},
			want: `cloudflare.DNSRecord example.com 1 {"records":[{"name":"example.com","type":"MX","content":"mail.example.com","ttl":3600,"proxied":false,"priority":10,"comment":"Primary mail server"}],` + docsCreds + `}
`,
			hostnames: []string{"example.com"}, status: `{"fqdn":"example.com"}`,
		},
		{
			name: "config sample: CNAME with account, synced before (takeover)", source: SourceDNSRecord, ns: "default", obj: "dnsrecord-sample",
			run: func(f *fake) Result {
				r := dnsRecord("default", "dnsrecord-sample", v1alpha2.DNSRecordSpec{
					Name: "app.example.com", Type: "CNAME", Content: "tunnel-id.cloudflare-operator.io", Proxied: ptr(true), TTL: 1,
					Comment:    "Managed by cloudflare-operator",
					Cloudflare: &v1alpha2.CloudflareDetails{AccountID: acct1, Domain: "example.com", Secret: "cloudflare-api-credentials"},
				})
				r.Status.RecordID = recordIDWWW
				r.Status.ZoneID = zoneCom
				return DNSRecord(r, f, opts)
			},
			want: `cloudflare.DNSRecord example.com 1 {"accountId":"0123456789abcdef0123456789abcdef","records":[{"name":"app.example.com","type":"CNAME","content":"tunnel-id.cloudflare-operator.io","ttl":1,"proxied":true,"comment":"Managed by cloudflare-operator","takeOver":{"recordIds":["372e67954025e0ba6aaa6d586b9e0b59"]}}],` + docsCreds + `}
`,
			hostnames: []string{"app.example.com"}, status: `{"fqdn":"app.example.com"}`,
		},
		{
			name: "e2e sample: zone by CloudflareDomain, credentialsRef", source: SourceDNSRecord, ns: "e2e-test", obj: "test-dns",
			run: func(f *fake) Result {
				return DNSRecord(dnsRecord("e2e-test", "test-dns", v1alpha2.DNSRecordSpec{
					Name: "e2e-test-record.example.com", Type: "A", Content: "1.2.3.4", TTL: 300, Proxied: ptr(false),
					Comment:    "E2E test DNS record - auto cleanup",
					Cloudflare: &v1alpha2.CloudflareDetails{AccountID: acct2, CredentialsRef: &v1alpha2.CredentialsRef{Name: "default"}},
				}), f, opts)
			},
			want: `cloudflare.DNSRecord example.com 1 {"accountId":"fedcba9876543210fedcba9876543210","records":[{"name":"e2e-test-record.example.com","type":"A","content":"1.2.3.4","ttl":300,"proxied":false,"comment":"E2E test DNS record - auto cleanup"}],"credentials":{"namespace":"conflux","name":"cf","key":"CLOUDFLARE_API_TOKEN"}}
`,
			hostnames: []string{"e2e-test-record.example.com"}, status: `{"fqdn":"e2e-test-record.example.com"}`,
		},
		{
			name: "docs: Service LoadBalancerIP", source: SourceDNSRecord, ns: "production", obj: "api-dns",
			run: func(f *fake) Result {
				return DNSRecord(dnsRecord("production", "api-dns", v1alpha2.DNSRecordSpec{
					Name: "api.example.com", Proxied: ptr(true), Cloudflare: docsCloudflare(),
					SourceRef: &v1alpha2.DNSRecordSourceRef{Service: &v1alpha2.AddressSource{Name: "api-service", AddressType: "LoadBalancerIP"}},
				}), f, opts)
			},
			want: `cloudflare.DNSRecord example.com 1 {"records":[{"name":"api.example.com","type":"A","content":"203.0.113.10","proxied":true}],"credentials":{"namespace":"production","name":"cloudflare-api-credentials","key":"CLOUDFLARE_API_TOKEN"}}
`,
			hostnames: []string{"api.example.com"},
			status:    `{"fqdn":"api.example.com","resolvedAddresses":["203.0.113.10"],"resolvedContent":"203.0.113.10","resolvedType":"A"}`,
		},
		{
			name: "docs: Service LoadBalancerHostname", source: SourceDNSRecord, ns: "production", obj: "app-dns",
			run: func(f *fake) Result {
				return DNSRecord(dnsRecord("production", "app-dns", v1alpha2.DNSRecordSpec{
					Name: "app.example.com", Proxied: ptr(true), Cloudflare: docsCloudflare(),
					SourceRef: &v1alpha2.DNSRecordSourceRef{Service: &v1alpha2.AddressSource{Name: "app-service", AddressType: "LoadBalancerHostname"}},
				}), f, opts)
			},
			want: `cloudflare.DNSRecord example.com 1 {"records":[{"name":"app.example.com","type":"CNAME","content":"lb-123.elb.example.net","proxied":true}],"credentials":{"namespace":"production","name":"cloudflare-api-credentials","key":"CLOUDFLARE_API_TOKEN"}}
`,
			hostnames: []string{"app.example.com"},
			status:    `{"fqdn":"app.example.com","resolvedAddresses":["lb-123.elb.example.net"],"resolvedContent":"lb-123.elb.example.net","resolvedType":"CNAME"}`,
		},
		{
			name: "docs: Service ExternalName", source: SourceDNSRecord, ns: "default", obj: "legacy-cname",
			run: func(f *fake) Result {
				return DNSRecord(dnsRecord("default", "legacy-cname", v1alpha2.DNSRecordSpec{
					Name: "legacy.example.com", Proxied: ptr(false), Cloudflare: docsCloudflare(),
					SourceRef: &v1alpha2.DNSRecordSourceRef{Service: &v1alpha2.AddressSource{Name: "external-service", AddressType: "ExternalName"}},
				}), f, opts)
			},
			want: `cloudflare.DNSRecord example.com 1 {"records":[{"name":"legacy.example.com","type":"CNAME","content":"legacy.backend.example.net","proxied":false}],` + docsCreds + `}
`,
			hostnames: []string{"legacy.example.com"},
			status:    `{"fqdn":"legacy.example.com","resolvedAddresses":["legacy.backend.example.net"],"resolvedContent":"legacy.backend.example.net","resolvedType":"CNAME"}`,
		},
		{
			name: "docs: Ingress, First", source: SourceDNSRecord, ns: "default", obj: "web-dns",
			run: func(f *fake) Result {
				return DNSRecord(dnsRecord("default", "web-dns", v1alpha2.DNSRecordSpec{
					Name: "www.example.com", AddressSelection: "First", Proxied: ptr(true), Cloudflare: docsCloudflare(),
					SourceRef: &v1alpha2.DNSRecordSourceRef{Ingress: &v1alpha2.NamespacedRef{Name: "web-ingress"}},
				}), f, opts)
			},
			want: `cloudflare.DNSRecord example.com 1 {"records":[{"name":"www.example.com","type":"A","content":"192.0.2.50","proxied":true}],` + docsCreds + `}
`,
			hostnames: []string{"www.example.com"},
			status:    `{"fqdn":"www.example.com","resolvedAddresses":["192.0.2.50"],"resolvedContent":"192.0.2.50","resolvedType":"A"}`,
		},
		{
			name: "docs: Gateway, PreferIPv4", source: SourceDNSRecord, ns: "gateway-system", obj: "gateway-dns",
			run: func(f *fake) Result {
				return DNSRecord(dnsRecord("gateway-system", "gateway-dns", v1alpha2.DNSRecordSpec{
					Name: "app.example.com", AddressSelection: "PreferIPv4", Proxied: ptr(true), Cloudflare: docsCloudflare(),
					SourceRef: &v1alpha2.DNSRecordSourceRef{Gateway: &v1alpha2.NamespacedRef{Name: "main-gateway"}},
				}), f, opts)
			},
			want: `cloudflare.DNSRecord example.com 1 {"records":[{"name":"app.example.com","type":"A","content":"192.0.2.80","proxied":true}],"credentials":{"namespace":"gateway-system","name":"cloudflare-api-credentials","key":"CLOUDFLARE_API_TOKEN"}}
`,
			hostnames: []string{"app.example.com"},
			status:    `{"fqdn":"app.example.com","resolvedAddresses":["192.0.2.80"],"resolvedContent":"192.0.2.80","resolvedType":"A"}`,
		},
		{
			name: "docs: HTTPRoute's parent Gateways", source: SourceDNSRecord, ns: "default", obj: "route-dns",
			run: func(f *fake) Result {
				return DNSRecord(dnsRecord("default", "route-dns", v1alpha2.DNSRecordSpec{
					Name: "myapp.example.com", Proxied: ptr(true), Cloudflare: docsCloudflare(), AddressSelection: "PreferIPv6",
					SourceRef: &v1alpha2.DNSRecordSourceRef{HTTPRoute: &v1alpha2.NamespacedRef{Name: "myapp-route"}},
				}), f, opts)
			},
			want: `cloudflare.DNSRecord example.com 1 {"records":[{"name":"myapp.example.com","type":"AAAA","content":"2001:db8::80","proxied":true}],` + docsCreds + `}
`,
			hostnames: []string{"myapp.example.com"},
			status:    `{"fqdn":"myapp.example.com","resolvedAddresses":["2001:db8::80"],"resolvedContent":"2001:db8::80","resolvedType":"AAAA"}`,
		},
		{
			name: "docs: Node ExternalIP", source: SourceDNSRecord, ns: "default", obj: "node-dns",
			run: func(f *fake) Result {
				return DNSRecord(dnsRecord("default", "node-dns", v1alpha2.DNSRecordSpec{
					Name: "node1.example.com", Proxied: ptr(false), Cloudflare: docsCloudflare(),
					SourceRef: &v1alpha2.DNSRecordSourceRef{Node: &v1alpha2.NodeSource{Name: "worker-node-1", AddressType: "ExternalIP"}},
				}), f, opts)
			},
			want: `cloudflare.DNSRecord example.com 1 {"records":[{"name":"node1.example.com","type":"A","content":"198.51.100.7","proxied":false}],` + docsCreds + `}
`,
			hostnames: []string{"node1.example.com"},
			status:    `{"fqdn":"node1.example.com","resolvedAddresses":["198.51.100.7"],"resolvedContent":"198.51.100.7","resolvedType":"A"}`,
		},
		{
			name: "docs: All addresses, one record each", source: SourceDNSRecord, ns: "default", obj: "ha-dns",
			run: func(f *fake) Result {
				return DNSRecord(dnsRecord("default", "ha-dns", v1alpha2.DNSRecordSpec{
					Name: "ha.example.com", AddressSelection: "All", TTL: 300, Proxied: ptr(false), Cloudflare: docsCloudflare(),
					SourceRef: &v1alpha2.DNSRecordSourceRef{Service: &v1alpha2.AddressSource{Name: "ha-service", AddressType: "LoadBalancerIP"}},
				}), f, opts)
			},
			want: `cloudflare.DNSRecord example.com 1 {"records":[{"name":"ha.example.com","type":"A","content":"198.51.100.1","ttl":300,"proxied":false},{"name":"ha.example.com","type":"AAAA","content":"2001:db8::2","ttl":300,"proxied":false},{"name":"ha.example.com","type":"A","content":"198.51.100.2","ttl":300,"proxied":false}],` + docsCreds + `}
`,
			hostnames: []string{"ha.example.com"},
			status:    `{"fqdn":"ha.example.com","resolvedAddresses":["198.51.100.1","2001:db8::2","198.51.100.2"],"resolvedContent":"198.51.100.1","resolvedType":"A"}`,
		},
		{
			name: "docs: Orphan, source present; All with type A takes the IPv4 addresses", source: SourceDNSRecord, ns: "default", obj: "persistent-dns",
			run: func(f *fake) Result {
				return DNSRecord(dnsRecord("default", "persistent-dns", v1alpha2.DNSRecordSpec{
					Name: "stable.example.com", Type: "A", AddressSelection: "All", SourceDeletionPolicy: "Orphan", Cloudflare: docsCloudflare(),
					SourceRef: &v1alpha2.DNSRecordSourceRef{Service: &v1alpha2.AddressSource{Name: "ha-service"}},
				}), f, opts)
			},
			want: `cloudflare.DNSRecord example.com 1 {"records":[{"name":"stable.example.com","type":"A","content":"198.51.100.1","proxied":false},{"name":"stable.example.com","type":"A","content":"198.51.100.2","proxied":false}],` + docsCreds + `}
`,
			hostnames: []string{"stable.example.com"},
			status:    `{"fqdn":"stable.example.com","resolvedAddresses":["198.51.100.1","198.51.100.2"],"resolvedContent":"198.51.100.1","resolvedType":"A"}`,
		},
		{
			name: "Service ClusterIP and ExternalIP; TXT takes any address; takeover ids", source: SourceDNSRecord, ns: "default", obj: "internal",
			run: func(f *fake) Result {
				r := dnsRecord("default", "internal", v1alpha2.DNSRecordSpec{
					Name: "internal.apps.example.com", Type: "TXT", Cloudflare: &v1alpha2.CloudflareDetails{Secret: "cloudflare-api-credentials"},
					SourceRef: &v1alpha2.DNSRecordSourceRef{Service: &v1alpha2.AddressSource{Name: "internal", AddressType: "ClusterIP"}},
				})
				r.Status.RecordID = recordIDWWW2
				r.Status.ManagedRecordIDs = []string{recordIDWWW, recordIDWWW2, "not an id"}
				return DNSRecord(r, f, opts)
			},
			want: `cloudflare.DNSRecord apps.example.com 1 {"records":[{"name":"internal.apps.example.com","type":"TXT","content":"10.96.0.20","proxied":false,"takeOver":{"recordIds":["372e67954025e0ba6aaa6d586b9e0b59","9a7806061c88ada191ed06f989cc3dac"]}}],` + docsCreds + `}
`,
			hostnames: []string{"internal.apps.example.com"},
			status:    `{"fqdn":"internal.apps.example.com","resolvedAddresses":["10.96.0.20"],"resolvedContent":"10.96.0.20","resolvedType":"TXT"}`,
		},

		// Zones and credentials.
		{
			name: "zone by the longest CloudflareDomain suffix, credentials of no domain: the default CloudflareCredentials", source: SourceDNSRecord, ns: "default", obj: "a",
			run: func(f *fake) Result {
				f.credentials["default"].Spec.IsDefault = true
				return DNSRecord(dnsRecord("default", "a", v1alpha2.DNSRecordSpec{Name: "x.apps.example.com", Type: "AAAA", Content: "2001:db8::1"}), f, opts)
			},
			want: `cloudflare.DNSRecord apps.example.com 1 {"accountId":"0123456789abcdef0123456789abcdef","records":[{"name":"x.apps.example.com","type":"AAAA","content":"2001:db8::1","proxied":false}],"credentials":{"namespace":"conflux","name":"cf","key":"CLOUDFLARE_API_TOKEN"}}
`,
			hostnames: []string{"x.apps.example.com"}, status: `{"fqdn":"x.apps.example.com"}`,
		},
		{
			name: "zone by CloudflareDomain suffix, its credentialsRef", source: SourceDNSRecord, ns: "default", obj: "a",
			run: func(f *fake) Result {
				return DNSRecord(dnsRecord("default", "a", v1alpha2.DNSRecordSpec{Name: "x.example.com", Type: "A", Content: "192.0.2.1"}), f, opts)
			},
			want: `cloudflare.DNSRecord example.com 1 {"accountId":"fedcba9876543210fedcba9876543210","records":[{"name":"x.example.com","type":"A","content":"192.0.2.1","proxied":false}],"credentials":{"namespace":"infra","name":"zones","key":"token"}}
`,
			hostnames: []string{"x.example.com"}, status: `{"fqdn":"x.example.com"}`,
		},
		{
			name: "zone by zoneId, relative name, the CloudflareDomain's credentials", source: SourceDNSRecord, ns: "default", obj: "a",
			run: func(f *fake) Result {
				return DNSRecord(dnsRecord("default", "a", v1alpha2.DNSRecordSpec{Name: "www", Type: "A", Content: "192.0.2.1",
					Cloudflare: &v1alpha2.CloudflareDetails{ZoneID: zoneCom, Domain: "ignored.example.net"}}), f, opts)
			},
			want: `cloudflare.DNSRecord example.com 1 {"accountId":"fedcba9876543210fedcba9876543210","records":[{"name":"www.example.com","type":"A","content":"192.0.2.1","proxied":false}],"credentials":{"namespace":"infra","name":"zones","key":"token"}}
`,
			hostnames: []string{"www.example.com"}, status: `{"fqdn":"www.example.com"}`,
		},
		{
			name: "relative name in the default CloudflareDomain", source: SourceDNSRecord, ns: "default", obj: "a",
			run: func(f *fake) Result {
				f.domains[2].IsDefault = true
				f.credentials["production"].Spec.IsDefault = true
				return DNSRecord(dnsRecord("default", "a", v1alpha2.DNSRecordSpec{Name: "www", Type: "A", Content: "192.0.2.1"}), f, opts)
			},
			want: `cloudflare.DNSRecord example.org 1 {"accountId":"1234567890abcdef","records":[{"name":"www.example.org","type":"A","content":"192.0.2.1","proxied":false}],"credentials":{"namespace":"conflux","name":"cf","key":"CLOUDFLARE_API_TOKEN"}}
`,
			hostnames: []string{"www.example.org"}, status: `{"fqdn":"www.example.org"}`,
		},
		{
			name: "relative name in the credentials' defaultDomain", source: SourceDNSRecord, ns: "default", obj: "a",
			run: func(f *fake) Result {
				return DNSRecord(dnsRecord("default", "a", v1alpha2.DNSRecordSpec{Name: "www", Type: "A", Content: "192.0.2.1",
					Cloudflare: &v1alpha2.CloudflareDetails{CredentialsRef: &v1alpha2.CredentialsRef{Name: "default"}}}), f, opts)
			},
			want: `cloudflare.DNSRecord example.com 1 {"accountId":"0123456789abcdef0123456789abcdef","records":[{"name":"www.example.com","type":"A","content":"192.0.2.1","proxied":false}],"credentials":{"namespace":"conflux","name":"cf","key":"CLOUDFLARE_API_TOKEN"}}
`,
			hostnames: []string{"www.example.com"}, status: `{"fqdn":"www.example.com"}`,
		},
	})
}

func TestDNSRecordProblems(t *testing.T) {
	runRecProblems(t, []recProblem{
		{name: "name outside the zone", run: func(f *fake) Result {
			return DNSRecord(dnsRecord("default", "x", v1alpha2.DNSRecordSpec{Name: "app.example.org", Type: "A", Content: "192.0.2.1",
				Cloudflare: &v1alpha2.CloudflareDetails{Domain: "example.com", Secret: "cf"}}), f, opts)
		}, field: "spec.name", reason: "app.example.org is not in zone example.com"},
		{name: "tunnel not found", run: func(f *fake) Result {
			return DNSRecord(dnsRecord("default", "x", v1alpha2.DNSRecordSpec{Name: "app.example.com", Type: "CNAME",
				TunnelRef: &v1alpha2.TunnelRef{Kind: "ClusterTunnel", Name: "nope"}}), f, opts)
		}, field: "spec.tunnelRef", reason: "ClusterTunnel nope not found"},
		{name: "Secret not found", run: func(f *fake) Result {
			return DNSRecord(dnsRecord("default", "x", v1alpha2.DNSRecordSpec{Name: "example.com", Type: "TXT", Content: "hello",
				Cloudflare: &v1alpha2.CloudflareDetails{Domain: "example.com", Secret: "missing"}}), f, opts)
		}, field: "spec.cloudflare.secret", reason: "Secret default/missing not found"},
		// The sample's name has a dot, so it is not relative to the zone
		// (TestDNSRecordStructuredData has it written in full).
		{name: "docs sample SRV", run: srvSample, field: "spec.name", reason: "_ldap._tcp is not in zone example.com"},
		{name: "CAA as content", run: func(f *fake) Result {
			return DNSRecord(dnsRecord("default", "x", v1alpha2.DNSRecordSpec{Name: "example.com", Type: "caa", Content: `0 issue "letsencrypt.org"`, Cloudflare: docsCloudflare()}), f, opts)
		}, field: "spec.data", reason: "is required for CAA records: {flags, tag, value}"},
		{name: "content and sourceRef", run: func(f *fake) Result {
			return DNSRecord(dnsRecord("default", "x", v1alpha2.DNSRecordSpec{Name: "a.example.com", Content: "192.0.2.1", Type: "A", Cloudflare: docsCloudflare(),
				SourceRef: &v1alpha2.DNSRecordSourceRef{Service: &v1alpha2.AddressSource{Name: "app-service"}}}), f, opts)
		}, field: "spec", reason: "give exactly one of content, sourceRef and tunnelRef"},
		{name: "nothing to point at", run: func(f *fake) Result {
			return DNSRecord(dnsRecord("default", "x", v1alpha2.DNSRecordSpec{Name: "a.example.com", Type: "A", Cloudflare: docsCloudflare()}), f, opts)
		}, field: "spec.content", reason: "is required (or sourceRef, or tunnelRef for a CNAME to a tunnel)"},
		{name: "content without type", run: func(f *fake) Result {
			return DNSRecord(dnsRecord("default", "x", v1alpha2.DNSRecordSpec{Name: "a.example.com", Content: "192.0.2.1", Cloudflare: docsCloudflare()}), f, opts)
		}, field: "spec.type", reason: "is required with content: one of A, AAAA, CNAME, TXT, MX, NS"},
		{name: "A with an IPv6 address", run: func(f *fake) Result {
			return DNSRecord(dnsRecord("default", "x", v1alpha2.DNSRecordSpec{Name: "a.example.com", Type: "A", Content: "2001:db8::1", Cloudflare: docsCloudflare()}), f, opts)
		}, field: "spec.content", reason: `"2001:db8::1" is not an IPv4 address`},
		{name: "tunnelRef with type A", run: func(f *fake) Result {
			return DNSRecord(dnsRecord("default", "x", v1alpha2.DNSRecordSpec{Name: "a.example.com", Type: "A", TunnelRef: &v1alpha2.TunnelRef{Kind: "ClusterTunnel", Name: "edge"}}), f, opts)
		}, field: "spec.type", reason: "must be CNAME with a tunnelRef, not A"},
		{name: "MX without priority", run: func(f *fake) Result {
			return DNSRecord(dnsRecord("default", "x", v1alpha2.DNSRecordSpec{Name: "@", Type: "MX", Content: "mail.example.com", Cloudflare: docsCloudflare()}), f, opts)
		}, field: "spec.priority", reason: "is required for MX records"},
		{name: "bad ttl", run: func(f *fake) Result {
			return DNSRecord(dnsRecord("default", "x", v1alpha2.DNSRecordSpec{Name: "a", Type: "TXT", Content: "x", TTL: 30, Cloudflare: docsCloudflare()}), f, opts)
		}, field: "spec.ttl", reason: "must be 1 (automatic) or between 60 and 86400 seconds"},
		{name: "docs sample TXT: tags without values", run: func(f *fake) Result {
			return DNSRecord(dnsRecord("default", "txt-verification", v1alpha2.DNSRecordSpec{
				Name: "_verify", Type: "TXT", Content: "verification-token-12345", TTL: 3600, Tags: []string{"verification", "google"}, Cloudflare: docsCloudflare(),
			}), f, opts)
		}, field: "spec.tags[1]", reason: `"google" is not name:value: Cloudflare takes DNS record tags as name:value...`},
		{name: "bad account id", run: func(f *fake) Result {
			cf := docsCloudflare()
			cf.AccountID = "<Cloudflare account ID>"
			return DNSRecord(dnsRecord("default", "x", v1alpha2.DNSRecordSpec{Name: "a", Type: "TXT", Content: "x", Cloudflare: cf}), f, opts)
		}, field: "spec.cloudflare.accountId", reason: `must be a Cloudflare account id (letters, digits, - and _), not "<Cloudflare account ID>"`},

		// Zones.
		{name: "unknown zone id", run: func(f *fake) Result {
			return DNSRecord(dnsRecord("default", "x", v1alpha2.DNSRecordSpec{Name: "a.example.com", Type: "A", Content: "192.0.2.1",
				Cloudflare: &v1alpha2.CloudflareDetails{ZoneID: "ffff", Secret: "cloudflare-api-credentials"}}), f, opts)
		}, field: "spec.cloudflare.zoneId", reason: "no CloudflareDomain has zone id ffff: conflux-sync finds zones by name..."},
		{name: "relative name, no zone", run: func(f *fake) Result {
			return DNSRecord(dnsRecord("default", "x", v1alpha2.DNSRecordSpec{Name: "www", Type: "A", Content: "192.0.2.1",
				Cloudflare: &v1alpha2.CloudflareDetails{Secret: "cloudflare-api-credentials"}}), f, opts)
		}, field: "spec.cloudflare.domain", reason: `is required: "www" is relative to a zone, and there is no default zone...`},
		{name: "name in no zone", run: func(f *fake) Result {
			return DNSRecord(dnsRecord("default", "x", v1alpha2.DNSRecordSpec{Name: "a.example.net", Type: "A", Content: "192.0.2.1",
				Cloudflare: &v1alpha2.CloudflareDetails{Secret: "cloudflare-api-credentials"}}), f, opts)
		}, field: "spec.cloudflare.domain", reason: "is required: no CloudflareDomain matches a.example.net (set spec.cloudflare.domain or zoneId, or create a CloudflareDomain for its zone)"},
		{name: "name in neither the tunnel's zone nor the credentials' default domain", run: func(f *fake) Result {
			f.credentials["default"].Spec.IsDefault = true
			return DNSRecord(dnsRecord("default", "x", v1alpha2.DNSRecordSpec{Name: "a.example.net", TunnelRef: &v1alpha2.TunnelRef{Kind: "Tunnel", Namespace: "infra", Name: "t1"}}), f, opts)
		}, field: "spec.name", reason: "a.example.net is in no zone conflux-sync knows: no CloudflareDomain matches it and it is not in example.org; set spec.cloudflare.domain, or create a CloudflareDomain for its zone"},
		{name: "two default CloudflareDomains", run: func(f *fake) Result {
			f.domains[1].IsDefault, f.domains[2].IsDefault = true, true
			return DNSRecord(dnsRecord("default", "x", v1alpha2.DNSRecordSpec{Name: "www", Type: "A", Content: "192.0.2.1", Cloudflare: &v1alpha2.CloudflareDetails{Secret: "cf"}}), f, opts)
		}, field: "spec.cloudflare.domain", reason: `is required: 2 CloudflareDomains are marked isDefault (apps, example-org), so the default zone of "www" is ambiguous`},
		{name: "the CloudflareDomain's credentials are missing", run: func(f *fake) Result {
			delete(f.credentials, "zones")
			return DNSRecord(dnsRecord("default", "x", v1alpha2.DNSRecordSpec{Name: "a.example.com", Type: "A", Content: "192.0.2.1"}), f, opts)
		}, field: "spec.cloudflare.credentialsRef", reason: "is not set, and CloudflareCredentials zones, which CloudflareDomain example-com (the record's zone) names, is not found"},
		{name: "no credentials at all", run: func(f *fake) Result {
			return DNSRecord(dnsRecord("default", "x", v1alpha2.DNSRecordSpec{Name: "a.apps.example.com", Type: "A", Content: "192.0.2.1"}), f, opts)
		}, field: "spec.cloudflare.secret", reason: "is required: the Secret holding the Cloudflare API token (or credentialsRef, or a CloudflareCredentials with isDefault: true)"},

		// sourceRef.
		{name: "two sources", run: func(f *fake) Result {
			return DNSRecord(dnsRecord("default", "x", v1alpha2.DNSRecordSpec{Name: "a.example.com", Cloudflare: docsCloudflare(),
				SourceRef: &v1alpha2.DNSRecordSourceRef{Ingress: &v1alpha2.NamespacedRef{Name: "web-ingress"}, Node: &v1alpha2.NodeSource{Name: "worker-node-1"}}}), f, opts)
		}, field: "spec.sourceRef", reason: "exactly one of service, ingress, httpRoute, gateway and node must be set, not 2"},
		{name: "no source", run: func(f *fake) Result {
			return DNSRecord(dnsRecord("default", "x", v1alpha2.DNSRecordSpec{Name: "a.example.com", Cloudflare: docsCloudflare(), SourceRef: &v1alpha2.DNSRecordSourceRef{}}), f, opts)
		}, field: "spec.sourceRef", reason: "exactly one of service, ingress, httpRoute, gateway and node must be set, not 0"},
		{name: "type A, but only a hostname", run: func(f *fake) Result {
			return DNSRecord(dnsRecord("production", "x", v1alpha2.DNSRecordSpec{Name: "a.example.com", Type: "A", Cloudflare: docsCloudflare(),
				SourceRef: &v1alpha2.DNSRecordSourceRef{Service: &v1alpha2.AddressSource{Name: "app-service", AddressType: "LoadBalancerHostname"}}}), f, opts)
		}, field: "spec.type", reason: "is A, but none of the addresses of Service production/app-service fits an A record: LB-123.elb.example.net."},
		{name: "All with two hostnames", run: func(f *fake) Result {
			return DNSRecord(dnsRecord("default", "x", v1alpha2.DNSRecordSpec{Name: "a.example.com", AddressSelection: "All", Cloudflare: docsCloudflare(),
				SourceRef: &v1alpha2.DNSRecordSourceRef{Service: &v1alpha2.AddressSource{Name: "two-lbs", AddressType: "LoadBalancerHostname"}}}), f, opts)
		}, field: "spec.addressSelection", reason: "All makes one record per address, but Service default/two-lbs has 2 addresses for a CNAME: a CNAME must be the only record on its name"},
		{name: "ExternalName of a ClusterIP Service", run: func(f *fake) Result {
			return DNSRecord(dnsRecord("default", "x", v1alpha2.DNSRecordSpec{Name: "a.example.com", Cloudflare: docsCloudflare(),
				SourceRef: &v1alpha2.DNSRecordSourceRef{Service: &v1alpha2.AddressSource{Name: "internal", AddressType: "ExternalName"}}}), f, opts)
		}, field: "spec.sourceRef.service.addressType", reason: "is ExternalName, but Service default/internal is of type ClusterIP"},
		{name: "ClusterIP of a headless Service", run: func(f *fake) Result {
			return DNSRecord(dnsRecord("default", "x", v1alpha2.DNSRecordSpec{Name: "a.example.com", Cloudflare: docsCloudflare(),
				SourceRef: &v1alpha2.DNSRecordSourceRef{Service: &v1alpha2.AddressSource{Name: "headless", AddressType: "ClusterIP"}}}), f, opts)
		}, field: "spec.sourceRef.service.addressType", reason: "is ClusterIP, but Service default/headless is headless (clusterIP None)"},
		{name: "bad addressSelection", run: func(f *fake) Result {
			return DNSRecord(dnsRecord("default", "x", v1alpha2.DNSRecordSpec{Name: "a.example.com", AddressSelection: "Random", Cloudflare: docsCloudflare(),
				SourceRef: &v1alpha2.DNSRecordSourceRef{Service: &v1alpha2.AddressSource{Name: "ha-service"}}}), f, opts)
		}, field: "spec.addressSelection", reason: `must be First, All, PreferIPv4 or PreferIPv6, not "Random"`},
		{name: "bad sourceDeletionPolicy, source gone", run: func(f *fake) Result {
			return DNSRecord(dnsRecord("default", "x", v1alpha2.DNSRecordSpec{Name: "a.example.com", SourceDeletionPolicy: "Keep", Cloudflare: docsCloudflare(),
				SourceRef: &v1alpha2.DNSRecordSourceRef{Service: &v1alpha2.AddressSource{Name: "gone"}}}), f, opts)
		}, field: "spec.sourceDeletionPolicy", reason: `must be Delete or Orphan, not "Keep"`},
	})
}

func srvSample(f *fake) Result {
	return DNSRecord(dnsRecord("default", "srv-ldap", v1alpha2.DNSRecordSpec{
		Name: "_ldap._tcp", Type: "SRV", Content: "ldap.example.com", Priority: ptr(int32(10)), TTL: 3600, Cloudflare: docsCloudflare(),
		Data: &v1alpha2.DNSRecordData{Service: "ldap", Proto: "tcp", Weight: ptr(int32(5)), Port: ptr(int32(389)), Target: "ldap.example.com"},
	}), f, opts)
}

func TestDNSRecordWaiting(t *testing.T) {
	gone := func(policy string) func(f *fake) Result {
		return func(f *fake) Result {
			return DNSRecord(dnsRecord("default", "x", v1alpha2.DNSRecordSpec{Name: "stable.example.com", SourceDeletionPolicy: policy,
				Type:      "SRV", // the rest of the object does not matter once the source is gone
				SourceRef: &v1alpha2.DNSRecordSourceRef{Service: &v1alpha2.AddressSource{Name: "app-service", Namespace: "staging"}}}), f, opts)
		}
	}
	runRecWaits(t, []recWait{
		{name: "no load balancer IP yet", run: func(f *fake) Result {
			return DNSRecord(dnsRecord("default", "x", v1alpha2.DNSRecordSpec{Name: "a.example.com", Cloudflare: docsCloudflare(),
				SourceRef: &v1alpha2.DNSRecordSourceRef{Service: &v1alpha2.AddressSource{Name: "pending"}}}), f, opts)
		}, keep: true, waiting: "Service default/pending has no load balancer IP yet: the record keeps what it last had", status: `{"fqdn":"a.example.com"}`},
		{name: "no node address of the type", run: func(f *fake) Result {
			f.nodes["worker-node-1"].Status.Addresses = f.nodes["worker-node-1"].Status.Addresses[:1]
			return DNSRecord(dnsRecord("default", "x", v1alpha2.DNSRecordSpec{Name: "a.example.com", Cloudflare: docsCloudflare(),
				SourceRef: &v1alpha2.DNSRecordSourceRef{Node: &v1alpha2.NodeSource{Name: "worker-node-1"}}}), f, opts)
		}, keep: true, waiting: "Node worker-node-1 has no ExternalIP address yet: the record keeps what it last had", status: `{"fqdn":"a.example.com"}`},
		{name: "HTTPRoute without parent addresses", run: func(f *fake) Result {
			f.routes["default/myapp-route"].Spec.ParentRefs = f.routes["default/myapp-route"].Spec.ParentRefs[:1]
			return DNSRecord(dnsRecord("default", "x", v1alpha2.DNSRecordSpec{Name: "a.example.com", Cloudflare: docsCloudflare(),
				SourceRef: &v1alpha2.DNSRecordSourceRef{HTTPRoute: &v1alpha2.NamespacedRef{Name: "myapp-route"}}}), f, opts)
		}, keep: true, waiting: "HTTPRoute default/myapp-route has no parent Gateway with an address yet: the record keeps what it last had", status: `{"fqdn":"a.example.com"}`},
		{name: "source gone, Delete (default)", run: gone(""),
			waiting: "source Service staging/app-service is gone: the record was removed (sourceDeletionPolicy Delete)"},
		{name: "source gone, Delete", run: gone("Delete"),
			waiting: "source Service staging/app-service is gone: the record was removed (sourceDeletionPolicy Delete)"},
		{name: "source gone, Orphan", run: gone("Orphan"), keep: true,
			waiting: "source Service staging/app-service is gone: the record stays in Cloudflare with its last content (sourceDeletionPolicy Orphan)",
			status:  `{"state":"Orphaned"}`},
	})
}

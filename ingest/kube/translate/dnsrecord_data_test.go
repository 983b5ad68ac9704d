package translate

import (
	"testing"

	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
)

// Structured records: spec.data (and spec.priority) as cloudflare-operator
// sends them, translated to the Cloudflare data fields.
func TestDNSRecordStructuredData(t *testing.T) {
	const head = `cloudflare.DNSRecord example.com 1 {"records":[`
	const tail = `],"credentials":{"namespace":"default","name":"cloudflare-api-credentials","key":"CLOUDFLARE_API_TOKEN"}}
`
	rec := func(name string, spec v1alpha2.DNSRecordSpec) func(f *fake) Result {
		return func(f *fake) Result {
			spec.Cloudflare = docsCloudflare()
			return DNSRecord(dnsRecord("default", name, spec), f, opts)
		}
	}
	runRecCases(t, []recCase{
		{
			// StringKe's docs sample srv-ldap with its name written in full
			// (a name with a dot is not relative here): service and proto
			// agree with the name, content repeats the target, priority
			// goes to data.
			name: "docs sample SRV", source: SourceDNSRecord, ns: "default", obj: "srv-ldap",
			run: rec("srv-ldap", v1alpha2.DNSRecordSpec{Name: "_ldap._tcp.example.com", Type: "SRV", Content: "ldap.example.com", Priority: ptr(int32(10)), TTL: 3600,
				Data: &v1alpha2.DNSRecordData{Service: "ldap", Proto: "tcp", Weight: ptr(int32(5)), Port: ptr(int32(389)), Target: "ldap.example.com"}}),
			want:      head + `{"name":"_ldap._tcp.example.com","type":"SRV","data":{"port":389,"priority":10,"target":"ldap.example.com","weight":5},"ttl":3600,"proxied":false}` + tail,
			hostnames: []string{"_ldap._tcp.example.com"}, status: `{"fqdn":"_ldap._tcp.example.com"}`,
		},
		{
			name: "CAA issue at the apex", source: SourceDNSRecord, ns: "default", obj: "caa",
			run: rec("caa", v1alpha2.DNSRecordSpec{Name: "@", Type: "CAA", TTL: 3600,
				Data: &v1alpha2.DNSRecordData{Flags: ptr(int32(0)), Tag: "issue", Value: "letsencrypt.org"}}),
			want:      head + `{"name":"example.com","type":"CAA","data":{"flags":0,"tag":"issue","value":"letsencrypt.org"},"ttl":3600,"proxied":false}` + tail,
			hostnames: []string{"example.com"}, status: `{"fqdn":"example.com"}`,
		},
		{
			name: "TLSA", source: SourceDNSRecord, ns: "default", obj: "tlsa",
			run: rec("tlsa", v1alpha2.DNSRecordSpec{Name: "_443._tcp.www.example.com", Type: "TLSA",
				Data: &v1alpha2.DNSRecordData{Usage: ptr(int32(3)), Selector: ptr(int32(1)), MatchingType: ptr(int32(1)), Certificate: "0D6FCE13"}}),
			want:      head + `{"name":"_443._tcp.www.example.com","type":"TLSA","data":{"certificate":"0D6FCE13","matching_type":1,"selector":1,"usage":3},"proxied":false}` + tail,
			hostnames: []string{"_443._tcp.www.example.com"}, status: `{"fqdn":"_443._tcp.www.example.com"}`,
		},
		{
			name: "HTTPS with parameters", source: SourceDNSRecord, ns: "default", obj: "https",
			run: rec("https", v1alpha2.DNSRecordSpec{Name: "www", Type: "HTTPS", Priority: ptr(int32(1)),
				Data: &v1alpha2.DNSRecordData{Target: ".", Value: `alpn="h3,h2"`}}),
			want:      head + `{"name":"www.example.com","type":"HTTPS","data":{"priority":1,"target":".","value":"alpn=\"h3,h2\""},"proxied":false}` + tail,
			hostnames: []string{"www.example.com"}, status: `{"fqdn":"www.example.com"}`,
		},
		{
			name: "LOC with decimal strings", source: SourceDNSRecord, ns: "default", obj: "loc",
			run: rec("loc", v1alpha2.DNSRecordSpec{Name: "office", Type: "LOC", Data: &v1alpha2.DNSRecordData{
				LatDegrees: ptr(int32(52)), LatMinutes: ptr(int32(22)), LatSeconds: "23.5", LatDirection: "N",
				LongDegrees: ptr(int32(4)), LongMinutes: ptr(int32(53)), LongSeconds: "32", LongDirection: "E",
				Altitude: "-2", Size: "1", PrecisionHorz: "10000", PrecisionVert: "10"}}),
			want:      head + `{"name":"office.example.com","type":"LOC","data":{"altitude":-2,"lat_degrees":52,"lat_direction":"N","lat_minutes":22,"lat_seconds":23.5,"long_degrees":4,"long_direction":"E","long_minutes":53,"long_seconds":32,"precision_horz":10000,"precision_vert":10,"size":1},"proxied":false}` + tail,
			hostnames: []string{"office.example.com"}, status: `{"fqdn":"office.example.com"}`,
		},
		{
			name: "URI from data.content", source: SourceDNSRecord, ns: "default", obj: "uri",
			run: rec("uri", v1alpha2.DNSRecordSpec{Name: "_ftp._tcp.example.com", Type: "URI", Priority: ptr(int32(10)),
				Data: &v1alpha2.DNSRecordData{Weight: ptr(int32(1)), Content: "ftp://ftp.example.com/public"}}),
			want:      head + `{"name":"_ftp._tcp.example.com","type":"URI","data":{"target":"ftp://ftp.example.com/public","weight":1},"proxied":false,"priority":10}` + tail,
			hostnames: []string{"_ftp._tcp.example.com"}, status: `{"fqdn":"_ftp._tcp.example.com"}`,
		},
		{
			name: "NS", source: SourceDNSRecord, ns: "default", obj: "ns",
			run:       rec("ns", v1alpha2.DNSRecordSpec{Name: "sub", Type: "NS", Content: "ns1.example.net"}),
			want:      head + `{"name":"sub.example.com","type":"NS","content":"ns1.example.net","proxied":false}` + tail,
			hostnames: []string{"sub.example.com"}, status: `{"fqdn":"sub.example.com"}`,
		},
	})
}

func TestDNSRecordStructuredDataProblems(t *testing.T) {
	rec := func(spec v1alpha2.DNSRecordSpec) func(f *fake) Result {
		return func(f *fake) Result {
			spec.Cloudflare = docsCloudflare()
			return DNSRecord(dnsRecord("default", "x", spec), f, opts)
		}
	}
	srvData := func() *v1alpha2.DNSRecordData {
		return &v1alpha2.DNSRecordData{Weight: ptr(int32(5)), Port: ptr(int32(389)), Target: "ldap.example.com"}
	}
	runRecProblems(t, []recProblem{
		{name: "CERT needs a type the CRD lacks", run: rec(v1alpha2.DNSRecordSpec{Name: "c", Type: "CERT",
			Data: &v1alpha2.DNSRecordData{KeyTag: ptr(int32(1)), Algorithm: ptr(int32(8)), Certificate: "AA=="}}),
			field: "spec.type", unsupported: true, reason: "CERT records are not synced from DNSRecord objects: their data needs type, which spec.data has no field for..."},
		{name: "SSHFP", run: rec(v1alpha2.DNSRecordSpec{Name: "h", Type: "SSHFP", Data: &v1alpha2.DNSRecordData{Algorithm: ptr(int32(4))}}),
			field: "spec.type", unsupported: true, reason: "SSHFP records are not synced from DNSRecord objects: their data needs type and fingerprint..."},
		{name: "data on an A record", run: rec(v1alpha2.DNSRecordSpec{Name: "a", Type: "A", Content: "192.0.2.1",
			Data: &v1alpha2.DNSRecordData{Flags: ptr(int32(0))}}),
			field: "spec.data", reason: "is for CAA, HTTPS, LOC, SMIMEA, SRV, SVCB, TLSA, URI records; A records take content"},
		{name: "SRV without data", run: rec(v1alpha2.DNSRecordSpec{Name: "_ldap._tcp.example.com", Type: "SRV", Priority: ptr(int32(1))}),
			field: "spec.data", reason: "is required for SRV records: {weight, port, target}"},
		{name: "SRV without port", run: rec(v1alpha2.DNSRecordSpec{Name: "_ldap._tcp.example.com", Type: "SRV", Priority: ptr(int32(1)),
			Data: &v1alpha2.DNSRecordData{Weight: ptr(int32(5)), Target: "ldap.example.com"}}),
			field: "spec.data.port", reason: "is required for SRV records"},
		{name: "SRV without priority", run: rec(v1alpha2.DNSRecordSpec{Name: "_ldap._tcp.example.com", Type: "SRV", Data: srvData()}),
			field: "spec.priority", reason: "is required for SRV records (it becomes data.priority)"},
		{name: "SRV service not the name's", run: func(f *fake) Result {
			d := srvData()
			d.Service = "_kerberos"
			return rec(v1alpha2.DNSRecordSpec{Name: "_ldap._tcp.example.com", Type: "SRV", Priority: ptr(int32(1)), Data: d})(f)
		}, field: "spec.data.service", reason: `"_kerberos" does not match the record name _ldap._tcp.example.com: its label 1 should be _kerberos (an SRV name starts with _service._proto, and Cloudflare takes the name as given)`},
		{name: "SRV content other than the target", run: rec(v1alpha2.DNSRecordSpec{Name: "_ldap._tcp.example.com", Type: "SRV", Priority: ptr(int32(1)),
			Content: "0 5 389 other.example.com", Data: srvData()}),
			field: "spec.content", reason: "Cloudflare builds the content of SRV records from spec.data: leave content out"},
		{name: "CAA with a port", run: rec(v1alpha2.DNSRecordSpec{Name: "@", Type: "CAA",
			Data: &v1alpha2.DNSRecordData{Flags: ptr(int32(0)), Tag: "issue", Value: "ca.example", Port: ptr(int32(1))}}),
			field: "spec.data.port", reason: "is not a field of CAA records (they take flags, tag, value)"},
		{name: "LOC seconds not a number", run: rec(v1alpha2.DNSRecordSpec{Name: "o", Type: "LOC", Data: &v1alpha2.DNSRecordData{
			LatDegrees: ptr(int32(52)), LatMinutes: ptr(int32(22)), LatSeconds: "23s", LatDirection: "N",
			LongDegrees: ptr(int32(4)), LongMinutes: ptr(int32(53)), LongSeconds: "32", LongDirection: "E",
			Altitude: "0", Size: "1", PrecisionHorz: "1", PrecisionVert: "1"}}),
			field: "spec.data.latSeconds", reason: `"23s" is not a number`},
		{name: "SRV from a sourceRef", run: rec(v1alpha2.DNSRecordSpec{Name: "_ldap._tcp.example.com", Type: "SRV",
			SourceRef: &v1alpha2.DNSRecordSourceRef{Service: &v1alpha2.AddressSource{Name: "app-service"}}}),
			field: "spec.sourceRef", reason: "gives addresses, which make A, AAAA or CNAME records; SRV records take spec.data"},
		{name: "URI without priority", run: rec(v1alpha2.DNSRecordSpec{Name: "_ftp._tcp.example.com", Type: "URI",
			Data: &v1alpha2.DNSRecordData{Weight: ptr(int32(1)), Content: "ftp://x.example.com/"}}),
			field: "spec.priority", reason: "is required for URI records"},
	})
}

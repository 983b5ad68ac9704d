package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"time"

	"github.com/conflux-sync/conflux-sync/api"
	cfemu "github.com/conflux-sync/conflux-sync/emulator/cloudflare"
	cxemu "github.com/conflux-sync/conflux-sync/emulator/conflux"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
)

// devEmulator is the Cloudflare emulator `dev` runs.
type devEmulator struct {
	URL string
	srv *http.Server
}

func (d *devEmulator) Close() error { return d.srv.Close() }

// serveDev serves h on the first free loopback port from first.
func serveDev(first int, h http.Handler, what string) (*devEmulator, error) {
	ports, err := freePorts(first, 1)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])))
	if err != nil {
		return nil, fmt.Errorf("listen for the %s: %w", what, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	return &devEmulator{URL: "http://" + l.Addr().String(), srv: srv}, nil
}

// startDevConflux serves the reference Conflux server, in memory, on the
// first free port from first.
func startDevConflux(first int, token string) (*devEmulator, error) {
	srv, err := cxemu.Open(cxemu.Config{Tokens: []string{token}})
	if err != nil {
		return nil, err
	}
	return serveDev(first, srv, "Conflux reference server")
}

// startDevEmulator serves the emulator on the first free port from first,
// with one account and the zone example.com.
func startDevEmulator(first int, token string) (*devEmulator, error) {
	emu := cfemu.New(cfemu.Config{Tokens: map[string]cfemu.TokenScope{token: {Accounts: []string{devAccount}}}})
	seedEmulator(emu, devAccount, []string{"example.com"})
	return serveDev(first, emu, "Cloudflare emulator")
}

// demoConfig is the Conflux config the demo publishes: v1 for everyone,
// v2 for clients labelled canary=true.
var demoConfig = api.TargetRef{Kind: api.KindConfluxConfig, Name: "acme/shop/prod/db.json"}

// demoTunnel is the tunnel target the demo registers.
var demoTunnel = api.TargetRef{Kind: cfapi.KindTunnel, Name: "ClusterTunnel/demo"}

// demoFragments are what a Tunnel, an Ingress and an HTTPRoute would
// contribute to one tunnel, and the other demo kinds; the service token's
// secret goes to demoTokenFile(dataDir).
func demoFragments(dataDir string) []api.Fragment {
	config := api.TargetRef{Kind: cfapi.KindTunnelConfiguration, Name: demoTunnel.Name}
	tunnelSource := api.SourceRef{Kind: "ClusterTunnel", Name: "demo"}
	return []api.Fragment{
		{Target: demoTunnel, Source: tunnelSource, Generation: 1,
			Spec: json.RawMessage(fmt.Sprintf(`{"accountId":%q,"name":"demo"}`, devAccount))},
		{Target: config, Source: tunnelSource, Generation: 1,
			Spec: json.RawMessage(`{"settings":{"fallbackTarget":"http_status:404","warpRouting":false}}`)},
		{Target: config, Source: api.SourceRef{Kind: "Ingress", Namespace: "default", Name: "web"}, Generation: 1,
			Spec: json.RawMessage(`{"rules":[{"hostname":"app.example.com","service":"http://web.default.svc:80"},{"hostname":"app.example.com","path":"^/static","service":"http://static.default.svc:80"}]}`)},
		{Target: config, Source: api.SourceRef{Kind: "HTTPRoute", Namespace: "api", Name: "v1"}, Generation: 1,
			Spec: json.RawMessage(`{"rules":[{"hostname":"api.example.com","path":"^/v1","service":"http://api-v1.api.svc:8080","originRequest":{"connectTimeout":10}}]}`)},
		{Target: api.TargetRef{Kind: cfapi.KindDNSRecord, Name: "example.com"}, Source: api.SourceRef{Kind: "Ingress", Namespace: "default", Name: "web"}, Generation: 1,
			Spec: json.RawMessage(`{"records":[{"name":"app.example.com","type":"CNAME","tunnel":"ClusterTunnel/demo","proxied":true}]}`)},
		{Target: api.TargetRef{Kind: cfapi.KindVirtualNetwork, Name: "lab"}, Source: api.SourceRef{Kind: "API", Name: "demo"}, Generation: 1,
			Spec: json.RawMessage(fmt.Sprintf(`{"accountId":%q,"name":"lab","comment":"demo lab network"}`, devAccount))},
		{Target: api.TargetRef{Kind: cfapi.KindAccessGroup, Name: "staff"}, Source: api.SourceRef{Kind: "API", Name: "demo"}, Generation: 1,
			Spec: json.RawMessage(fmt.Sprintf(`{"accountId":%q,"name":"staff","include":[{"email_domain":{"domain":"example.com"}}]}`, devAccount))},
		// Structured records beside the Ingress's CNAME in one zone.
		{Target: api.TargetRef{Kind: cfapi.KindDNSRecord, Name: "example.com"}, Source: api.SourceRef{Kind: "API", Name: "demo"}, Generation: 1,
			Spec: json.RawMessage(`{"records":[{"name":"_sip._tcp.example.com","type":"SRV","data":{"priority":10,"weight":5,"port":5060,"target":"sip.example.com"}},` +
				`{"name":"example.com","type":"CAA","data":{"flags":0,"tag":"issue","value":"letsencrypt.org"}}]}`)},
		// A Gateway list and a rule set whose rule names it ($blocked).
		{Target: api.TargetRef{Kind: cfapi.KindGatewayList, Name: "blocked"}, Source: api.SourceRef{Kind: "API", Name: "demo"}, Generation: 1,
			Spec: json.RawMessage(fmt.Sprintf(`{"accountId":%q,"name":"blocked","type":"DOMAIN","items":[{"value":"malware.example.net","description":"demo"}]}`, devAccount))},
		{Target: api.TargetRef{Kind: cfapi.KindGatewayRule, Name: "main"}, Source: api.SourceRef{Kind: "API", Name: "demo"}, Generation: 1,
			Spec: json.RawMessage(fmt.Sprintf(`{"accountId":%q,"rules":[{"name":"block listed","action":"block","filters":["dns"],"traffic":"any(dns.domains[*] in $blocked)","precedence":10}]}`, devAccount))},
		{Target: api.TargetRef{Kind: cfapi.KindAccessApplication, Name: "tickets-sso"}, Source: api.SourceRef{Kind: "API", Name: "demo"}, Generation: 1,
			Spec: json.RawMessage(fmt.Sprintf(`{"accountId":%q,"name":"tickets","type":"saas","saasApp":{"authType":"saml","spEntityId":"https://tickets.example.com/saml","consumerServiceUrl":"https://tickets.example.com/saml/acs"}}`, devAccount))},
		{Target: api.TargetRef{Kind: cfapi.KindAccessApplication, Name: "wiki"}, Source: api.SourceRef{Kind: "API", Name: "demo"}, Generation: 1,
			Spec: json.RawMessage(fmt.Sprintf(`{"accountId":%q,"name":"wiki","domain":"wiki.example.com","policies":["staff"]}`, devAccount))},
		{Target: api.TargetRef{Kind: cfapi.KindAccessPolicy, Name: "staff"}, Source: api.SourceRef{Kind: "API", Name: "demo"}, Generation: 1,
			Spec: json.RawMessage(fmt.Sprintf(`{"accountId":%q,"name":"Allow staff","decision":"allow","include":[{"group":{"name":"staff"}}],"sessionDuration":"8h"}`, devAccount))},
		{Target: api.TargetRef{Kind: cfapi.KindNetworkRoute, Name: "lab-lan"}, Source: api.SourceRef{Kind: "API", Name: "demo"}, Generation: 1,
			Spec: json.RawMessage(`{"network":"10.99.0.0/16","tunnel":"ClusterTunnel/demo","virtualNetwork":"lab","comment":"lab LAN"}`)},
		{Target: api.TargetRef{Kind: cfapi.KindAccessServiceToken, Name: "ci"}, Source: api.SourceRef{Kind: "API", Name: "demo"}, Generation: 1,
			Spec: json.RawMessage(fmt.Sprintf(`{"accountId":%q,"name":"ci","duration":"720h","refreshBefore":"168h","file":%q}`, devAccount, demoTokenFile(dataDir)))},
		{Target: api.TargetRef{Kind: cfapi.KindAccessIdentityProvider, Name: "pin"}, Source: api.SourceRef{Kind: "API", Name: "demo"}, Generation: 1,
			Spec: json.RawMessage(fmt.Sprintf(`{"accountId":%q,"name":"One-time PIN","type":"onetimepin"}`, devAccount))},
		{Target: demoConfig, Source: api.SourceRef{Kind: "API", Name: "demo"}, Generation: 1,
			Spec: json.RawMessage(`{"config":{"format":"json","schema":{"type":"object","required":["pool"]},"description":"shop database settings"},` +
				`"releases":[{"name":"v1","content":"{\"pool\":10}","stable":true},{"name":"v2","content":"{\"pool\":20}"}],` +
				`"policy":{"rules":[{"priority":10,"release":"v2","labels":{"canary":"true"}},{"priority":0,"release":"v1"}]}}`)},
	}
}

// demoTokenFile is where the demo service token's client id and secret
// are delivered: under dev's data folder.
func demoTokenFile(dataDir string) string { return filepath.Join(dataDir, "tokens", "ci.json") }

func registerDemo(ctx context.Context, c *api.Client, dataDir string) error {
	for _, f := range demoFragments(dataDir) {
		if _, err := c.PutFragment(ctx, f); err != nil {
			return err
		}
	}
	return nil
}

type devHelp struct {
	addrs             []string
	token, exe        string
	emulator, cfToken string
	conflux           string // the reference Conflux server's URL (token: cfToken)
	demo              bool
	kube              bool
	dryRun            bool
	repo, secrets     string // the demo Git repository and the --secrets-dir
	tokenFile         string // where the demo service token's secret goes
}

func printDevHelp(out io.Writer, h devHelp) {
	fmt.Fprintf(out, `
conflux-sync dev is running.

  Admin API:  %[1]s  (also %[2]s, %[3]s)
  Token:      %[4]s
  Cloudflare: %[6]s/client/v4  (emulator; token %[7]s, account %[8]s)
  Conflux:    %[9]s/v1  (reference server; token %[7]s)

Try:
  export CONFLUX_SYNC_ADDR=%[1]s CONFLUX_SYNC_TOKEN=%[4]s
  %[5]s status
  %[5]s targets ls
`, h.addrs[0], h.addrs[1], h.addrs[2], h.token, h.exe, h.emulator, h.cfToken, devAccount, h.conflux)
	if h.dryRun {
		fmt.Fprintf(out, `
DRY RUN: nothing is written to the emulators (or Kubernetes). The leader
records what it would do; see it with:
  %[1]s plan
`, h.exe)
	}
	if h.demo {
		fmt.Fprintf(out, `
The demo registered a tunnel, rules from a ClusterTunnel, an Ingress and an
HTTPRoute, a CNAME to the tunnel, and a private route in a virtual network.
See their aggregate, and what the leader wrote to Cloudflare:
  %[1]s targets get cloudflare.TunnelConfiguration ClusterTunnel/demo
  %[1]s targets get cloudflare.Tunnel ClusterTunnel/demo
  %[1]s targets get cloudflare.DNSRecord example.com
  %[1]s targets get cloudflare.VirtualNetwork lab     # then cloudflare.NetworkRoute lab-lan
  %[1]s targets get cloudflare.GatewayRule main       # its rule names cloudflare.GatewayList blocked
  %[1]s targets get cloudflare.AccessPolicy staff     # of the group staff; cloudflare.AccessApplication wiki lists it by name
  curl -s -H 'Authorization: Bearer %[3]s' '%[2]s/client/v4/accounts/%[4]s/cfd_tunnel?name=demo'
  curl -s -H 'Authorization: Bearer %[3]s' '%[2]s/client/v4/zones?name=example.com'   # then .../zones/ID/dns_records
    (the zone also has an SRV and a CAA record, written from their data: ...dns_records?type=SRV)
`, h.exe, h.emulator, h.cfToken, devAccount, h.conflux)
		fmt.Fprintf(out, `
An Access service token's secret was delivered to a file, never to the log:
  %[1]s targets get cloudflare.AccessServiceToken ci   # its id, client id, expiry
  cat %[2]s
`, h.exe, h.tokenFile)
		fmt.Fprintf(out, `
It also published a Conflux config with a stable release and a canary:
  %[1]s targets get conflux.Config acme/shop/prod/db.json
  curl -s -H 'Authorization: Bearer %[3]s' '%[5]s/v1/resolve?tenant=acme&application=shop&environment=prod&name=db.json'
  curl -s -H 'Authorization: Bearer %[3]s' '%[5]s/v1/resolve?tenant=acme&application=shop&environment=prod&name=db.json&label.canary=true'
`, h.exe, h.emulator, h.cfToken, devAccount, h.conflux)
		fmt.Fprintf(out, `
The Git source %[3]q polls the repository %[2]s every 10s. Its two
ConfluxConfig files became Conflux configs; one renders a secret read from
%[4]s/%[5]s, which never enters the raft log:
  %[1]s sources get %[3]s
  %[1]s gitops build %[2]s --path %[6]s    # render locally, secrets masked
Change a file, commit, and ask for a poll now:
  cd %[2]s && sed -i 's/EUR/USD/' %[6]s/shop-settings.yaml && git commit -qam 'USD' && cd - && %[1]s sources reconcile %[3]s
`, h.exe, h.repo, demoSourceName, h.secrets, demoSecretName, demoRepoPath)
	}
	if h.kube {
		fmt.Fprintf(out, `
Watching Kubernetes. Objects there name a Secret holding the emulator's token,
with their cloudflare.accountId %[2]s and cloudflare.domain example.com:
  kubectl create secret generic cloudflare --from-literal=CLOUDFLARE_API_TOKEN=%[1]s
  kubectl apply -k deploy/crds/operators   # unless the cluster has a cloudflare-operator's CRDs
  kubectl apply -f deploy/examples/        # see docs/kubernetes.md
`, h.cfToken, devAccount)
	}
	fmt.Fprintf(out, `
Add a rule from another source and watch it reach the tunnel's configuration:
  echo '{"target":{"kind":"cloudflare.TunnelConfiguration","name":"ClusterTunnel/demo"},"source":{"kind":"API","name":"me"},"generation":1,"spec":{"rules":[{"hostname":"me.example.com","service":"http://me.default.svc:80"}]}}' | %[1]s fragments put -f -
  %[1]s targets get cloudflare.TunnelConfiguration ClusterTunnel/demo

Downstream calls so far (coalesced: many changes, few calls):
  curl -s %[2]s/__emulator/requests

Press Ctrl-C to stop.
`, h.exe, h.emulator)
}

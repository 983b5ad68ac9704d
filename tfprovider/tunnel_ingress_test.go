package tfprovider_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/conflux-sync/conflux-sync/api"
)

// writeWaitTest bounds the setup writes' wait for Cloudflare.
const writeWaitTest = time.Minute

var (
	edgeTunnel = api.TargetRef{Kind: api.KindTunnel, Name: "ClusterTunnel/edge"}
	edgeConfig = api.TargetRef{Kind: api.KindTunnelConfiguration, Name: "ClusterTunnel/edge"}
	// The admin API producers the Terraform rules share the tunnel with.
	platformSource = api.SourceRef{Kind: "API", Name: "platform"}
	appsSource     = api.SourceRef{Kind: "API", Name: "apps"}
)

// cfRule is an ingress rule as the Cloudflare emulator stores it.
type cfRule struct {
	Hostname      string         `json:"hostname,omitempty"`
	Path          string         `json:"path,omitempty"`
	Service       string         `json:"service"`
	OriginRequest map[string]any `json:"originRequest,omitempty"`
}

// setupSharedTunnel registers the tunnel and one API rule, as a platform
// team would before any Terraform runs, and waits until both reached
// Cloudflare.
func setupSharedTunnel(t *testing.T, e *accEnv) {
	t.Helper()
	put := func(target api.TargetRef, src api.SourceRef, spec string) {
		t.Helper()
		res, err := e.Client.PutFragment(t.Context(), api.Fragment{Target: target, Source: src, Generation: 1, Spec: json.RawMessage(spec)}, api.Wait(writeWaitTest))
		if err != nil {
			t.Fatalf("put %s from %s: %v", target, src, err)
		}
		for _, s := range res.Sync {
			if s.Status != nil && s.Status.Error != "" {
				t.Fatalf("sync %s: %s", s.Target, s.Status.Error)
			}
		}
	}
	put(edgeTunnel, platformSource, fmt.Sprintf(`{"accountId": %q, "name": "edge"}`, accCFAccount))
	put(edgeConfig, appsSource, `{"rules": [{"hostname": "app.example.com", "service": "http://app:80"}]}`)
}

// cfIngress returns the edge tunnel's ingress rules and configuration
// version as stored in the Cloudflare emulator.
func cfIngress(e *accEnv) ([]cfRule, int, error) {
	for _, tun := range e.CF.Tunnels(accCFAccount) {
		if tun.Name != "edge" || tun.Deleted {
			continue
		}
		version, raw, ok := e.CF.TunnelConfig(accCFAccount, tun.ID)
		if !ok {
			return nil, 0, fmt.Errorf("tunnel %s has no configuration", tun.ID)
		}
		var cfg struct {
			Ingress []cfRule `json:"ingress"`
		}
		if raw != nil {
			if err := json.Unmarshal(raw, &cfg); err != nil {
				return nil, 0, fmt.Errorf("tunnel configuration %s: %v", raw, err)
			}
		}
		return cfg.Ingress, version, nil
	}
	return nil, 0, fmt.Errorf("no tunnel edge in the Cloudflare emulator")
}

// checkIngress compares Cloudflare's ingress rules with want, in order.
func checkIngress(e *accEnv, want ...cfRule) error {
	got, _, err := cfIngress(e)
	if err != nil {
		return err
	}
	eq := slices.EqualFunc(got, want, func(a, b cfRule) bool {
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		return string(ja) == string(jb)
	})
	if !eq {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		return fmt.Errorf("Cloudflare ingress:\n got %s\nwant %s", g, w)
	}
	return nil
}

var (
	appRule  = cfRule{Hostname: "app.example.com", Service: "http://app:80"}
	catchAll = cfRule{Service: "http_status:404"}
)

func ingressConfig(e *accEnv, service string) string {
	return e.provider() + fmt.Sprintf(`
resource "conflux_tunnel_ingress" "api" {
  tunnel   = "ClusterTunnel/edge"
  hostname = "api.example.com"
  path     = "^/v1"
  service  = %q

  origin_request {
    connect_timeout = 10
    no_tls_verify   = false
  }
}
`, service)
}

// TestAccTunnelIngress_SharedWithAPISource adds a Terraform rule to a
// tunnel the admin API also routes through: both rules reach Cloudflare,
// and neither apply, update nor destroy touches the other source's rule.
func TestAccTunnelIngress_SharedWithAPISource(t *testing.T) {
	e := newAccEnv(t)
	setupSharedTunnel(t, e)
	if err := checkIngress(e, appRule, catchAll); err != nil {
		t.Fatal(err)
	}
	const addr = "conflux_tunnel_ingress.api"
	const id = "ClusterTunnel/edge|api.example.com|^/v1"
	apiRule := func(service string) cfRule {
		return cfRule{Hostname: "api.example.com", Path: "^/v1", Service: service,
			OriginRequest: map[string]any{"connectTimeout": float64(10), "noTLSVerify": false}}
	}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6,
		Steps: []resource.TestStep{
			{
				Config: ingressConfig(e, "http://api:8080"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("id"), knownvalue.StringExact(id)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("origin_request").AtMapKey("connect_timeout"), knownvalue.Int64Exact(10)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("origin_request").AtMapKey("http2_origin"), knownvalue.Null()),
				},
				Check: func(*terraform.State) error {
					// Exact hostnames sort by name: api before app; the
					// generated catch-all is last.
					return checkIngress(e, apiRule("http://api:8080"), appRule, catchAll)
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
			{
				ResourceName:      addr,
				ImportState:       true,
				ImportStateId:     id,
				ImportStateVerify: true,
			},
			{
				Config: ingressConfig(e, "http://api:9090"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(*terraform.State) error {
					return checkIngress(e, apiRule("http://api:9090"), appRule, catchAll)
				},
			},
			{
				// An out-of-band edit of the Terraform fragment is drift:
				// the plan puts the configured service back in place.
				PreConfig: func() {
					spec := `{"rules": [{"hostname": "api.example.com", "path": "^/v1", "service": "http://hijacked:80"}]}`
					src := api.SourceRef{Kind: "Terraform", Namespace: "conflux_tunnel_ingress", Name: id}
					if _, err := e.Client.PutFragment(t.Context(), api.Fragment{Target: edgeConfig, Source: src, Generation: time.Now().UnixNano(), Spec: json.RawMessage(spec)}, api.Wait(writeWaitTest)); err != nil {
						t.Fatalf("edit the Terraform fragment: %v", err)
					}
				},
				Config: ingressConfig(e, "http://api:9090"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(*terraform.State) error {
					return checkIngress(e, apiRule("http://api:9090"), appRule, catchAll)
				},
			},
		},
		CheckDestroy: func(*terraform.State) error {
			frags, err := e.Client.ListFragments(t.Context(), edgeConfig, api.SourceRef{Kind: "Terraform"})
			if err != nil {
				return err
			}
			if len(frags) != 0 {
				return fmt.Errorf("destroy left %d Terraform fragments, first from %s", len(frags), frags[0].Source)
			}
			return checkIngress(e, appRule, catchAll)
		},
	})
}

// TestAccTunnelIngress_ConflictWithAPISource claims a hostname the admin
// API already routes: the apply fails naming the owner and nothing is
// written, to conflux-sync or to Cloudflare.
func TestAccTunnelIngress_ConflictWithAPISource(t *testing.T) {
	e := newAccEnv(t)
	setupSharedTunnel(t, e)
	_, before, err := cfIngress(e)
	if err != nil {
		t.Fatal(err)
	}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6,
		Steps: []resource.TestStep{{
			Config: e.provider() + `
resource "conflux_tunnel_ingress" "app" {
  tunnel   = "ClusterTunnel/edge"
  hostname = "APP.example.com"
  service  = "http://terraform-app:80"
}
`,
			ExpectError: regexp.MustCompile(`API/apps\s+already\s+has\s+a\s+rule\s+for\s+hostname\s+"APP.example.com"`),
		}},
	})

	if err := checkIngress(e, appRule, catchAll); err != nil {
		t.Fatal(err)
	}
	if _, after, _ := cfIngress(e); after != before {
		t.Errorf("Cloudflare configuration version went from %d to %d: the refused rule was written", before, after)
	}
	frags, err := e.Client.ListFragments(t.Context(), edgeConfig, api.SourceRef{Kind: "Terraform"})
	if err != nil {
		t.Fatal(err)
	}
	if len(frags) != 0 {
		t.Errorf("the refused rule left a fragment from %s", frags[0].Source)
	}
}

// TestAccTunnelIngress_UnknownTunnel names a tunnel no source declares:
// the apply fails at once instead of waiting for a sync that cannot
// happen, and nothing is written.
func TestAccTunnelIngress_UnknownTunnel(t *testing.T) {
	e := newAccEnv(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6,
		Steps: []resource.TestStep{{
			Config: e.provider() + `
resource "conflux_tunnel_ingress" "lost" {
  tunnel   = "ClusterTunnel/nowhere"
  hostname = "lost.example.com"
  service  = "http://lost:80"
}
`,
			ExpectError: regexp.MustCompile(`(?s)no cloudflare.Tunnel target "ClusterTunnel/nowhere"`),
		}},
	})
	frags, err := e.Client.ListFragments(t.Context(), api.TargetRef{Kind: api.KindTunnelConfiguration}, api.SourceRef{Kind: "Terraform"})
	if err != nil {
		t.Fatal(err)
	}
	if len(frags) != 0 {
		t.Errorf("the failed rule left a fragment for %s", frags[0].Target)
	}
}

// TestAccTunnelIngress_Validation checks that bad values fail at plan time
// on their attribute, before anything is sent.
func TestAccTunnelIngress_Validation(t *testing.T) {
	// Nothing is sent, so no cluster is needed: the endpoint is never dialled.
	cfg := func(hostname, path, service string) string {
		return fmt.Sprintf(`
provider "conflux" {
  server_endpoint = "http://127.0.0.1:1"
  auth_token      = "unused"
}

resource "conflux_tunnel_ingress" "bad" {
  tunnel   = "ClusterTunnel/edge"
  hostname = %q
  path     = %q
  service  = %q
}
`, hostname, path, service)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6,
		Steps: []resource.TestStep{
			{Config: cfg("api.example.com:443", "^/", "http://api:80"), PlanOnly: true, ExpectError: regexp.MustCompile(`cannot\s+contain\s+a\s+port`)},
			{Config: cfg("a.*.example.com", "^/", "http://api:80"), PlanOnly: true, ExpectError: regexp.MustCompile(`at\s+most\s+one\s+wildcard`)},
			{Config: cfg("api.example.com", "*.js", "http://api:80"), PlanOnly: true, ExpectError: regexp.MustCompile(`not\s+a\s+glob`)},
			{Config: cfg("api.example.com", "^/", "http://api:80/app"), PlanOnly: true, ExpectError: regexp.MustCompile(`proxying\s+to\s+a\s+different\s+path`)},
			{Config: cfg("api.example.com", "^/", "http_status:42"), PlanOnly: true, ExpectError: regexp.MustCompile(`invalid\s+HTTP\s+status\s+code`)},
			{Config: cfg("api.example.com", "^/", "api:80"), PlanOnly: true, ExpectError: regexp.MustCompile(`scheme\s+and\s+a\s+host`)},
		},
	})
}

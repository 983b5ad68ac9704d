package tfprovider_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/conflux-sync/conflux-sync/api"
	cxemu "github.com/conflux-sync/conflux-sync/emulator/conflux"
)

// The release tests use their own config, so they do not depend on the
// details of the conflux_config tests.
const (
	relConfigName = "app.json"
	relConfigKey  = "acme/shop/prod/" + relConfigName
)

var relTarget = api.TargetRef{Kind: api.KindConfluxConfig, Name: relConfigKey}

// relConfigHCL is the provider block and a JSON config whose schema wants
// an integer "pool", followed by extra.
func relConfigHCL(e *accEnv, extra string) string {
	return e.provider() + `
resource "conflux_config" "app" {
  tenant      = "acme"
  application = "shop"
  environment = "prod"
  name        = "` + relConfigName + `"
  format      = "json"
  schema      = jsonencode({ type = "object", required = ["pool"], properties = { pool = { type = "integer" } } })
}
` + extra
}

// releaseHCL is a conflux_release of the app config.
func releaseHCL(name, content, description string, stable bool) string {
	return fmt.Sprintf(`
resource "conflux_release" %q {
  config_id   = conflux_config.app.id
  content     = %q
  description = %q
  is_stable   = %t
}
`, name, content, description, stable)
}

// looseRE matches s literally, with any run of white space where s has a
// space: terraform wraps long diagnostics.
func looseRE(s string) *regexp.Regexp {
	return regexp.MustCompile(strings.ReplaceAll(regexp.QuoteMeta(s), " ", `\s+`))
}

// attr reads an attribute of a resource from the state.
func attr(s *terraform.State, res, name string) (string, error) {
	rs, ok := s.RootModule().Resources[res]
	if !ok {
		return "", fmt.Errorf("%s is not in the state", res)
	}
	v, ok := rs.Primary.Attributes[name]
	if !ok {
		return "", fmt.Errorf("%s has no attribute %s", res, name)
	}
	return v, nil
}

// appConfig returns the reference server's app config.
func (e *accEnv) appConfig() (cxemu.ConfigObject, error) {
	for _, c := range e.Conflux.Configs() {
		if c.Tenant == "acme" && c.Application == "shop" && c.Environment == "prod" && c.Name == relConfigName {
			return c, nil
		}
	}
	return cxemu.ConfigObject{}, fmt.Errorf("Conflux has no config %s", relConfigKey)
}

// appVersions returns the app config's versions in Conflux, oldest first.
func (e *accEnv) appVersions() ([]cxemu.Version, error) {
	c, err := e.appConfig()
	if err != nil {
		return nil, err
	}
	return e.Conflux.Versions(c.ID), nil
}

// checkVersions checks the app config's versions in Conflux, oldest
// first, against the contents and stable flags, and that the last one is
// the version of resource res.
func (e *accEnv) checkVersions(res string, want ...cxemu.Version) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		got, err := e.appVersions()
		if err != nil {
			return err
		}
		if len(got) != len(want) {
			return fmt.Errorf("Conflux holds %d versions of %s, want %d: %+v", len(got), relConfigKey, len(want), got)
		}
		for i := range want {
			if got[i].Content != want[i].Content || got[i].IsStable != want[i].IsStable || got[i].Description != want[i].Description {
				return fmt.Errorf("version %d: got content %q stable %t description %q, want %q %t %q", i,
					got[i].Content, got[i].IsStable, got[i].Description, want[i].Content, want[i].IsStable, want[i].Description)
			}
		}
		vid, err := attr(s, res, "version_id")
		if err != nil {
			return err
		}
		if last := got[len(got)-1].VersionID; vid != last {
			return fmt.Errorf("%s.version_id is %s, want the newest version %s", res, vid, last)
		}
		return nil
	}
}

// releaseImportID is the import id of a conflux_release in the state.
func releaseImportID(res string) resource.ImportStateIdFunc {
	return func(s *terraform.State) (string, error) {
		cfg, err := attr(s, res, "config_id")
		if err != nil {
			return "", err
		}
		vid, err := attr(s, res, "version_id")
		if err != nil {
			return "", err
		}
		return cfg + "/" + vid, nil
	}
}

// noFragments checks that no fragment of the given source namespace (a
// resource type of this provider) is left.
func (e *accEnv) noFragments(t *testing.T, namespace string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		frags, err := e.Client.ListFragments(t.Context(), api.TargetRef{}, api.SourceRef{Kind: "Terraform", Namespace: namespace})
		if err != nil {
			return err
		}
		if len(frags) > 0 {
			return fmt.Errorf("%d fragments of %s are left, e.g. %s", len(frags), namespace, frags[0].Source)
		}
		return nil
	}
}

func TestAccConfluxRelease_Stable(t *testing.T) {
	e := newAccEnv(t)
	const content = `{"pool":10}`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6,
		Steps: []resource.TestStep{
			{
				Config: relConfigHCL(e, releaseHCL("r", content, "first", true)),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttrSet("conflux_release.r", "version_id"),
					resource.TestCheckResourceAttr("conflux_release.r", "content_sha256", api.SHA256Hex(content)),
					resource.TestMatchResourceAttr("conflux_release.r", "release_name", regexp.MustCompile(`^tf-[0-9a-f]{16}$`)),
					resource.TestCheckResourceAttrPair("conflux_release.r", "config_id", "conflux_config.app", "id"),
					func(s *terraform.State) error {
						id, _ := attr(s, "conflux_release.r", "id")
						vid, _ := attr(s, "conflux_release.r", "version_id")
						if id != relConfigKey+"/"+vid {
							return fmt.Errorf("id is %q, want %q", id, relConfigKey+"/"+vid)
						}
						return nil
					},
					e.checkVersions("conflux_release.r", cxemu.Version{Content: content, IsStable: true, Description: "first"}),
				),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
			{
				ResourceName:      "conflux_release.r",
				ImportState:       true,
				ImportStateIdFunc: releaseImportID("conflux_release.r"),
				ImportStateVerify: true,
			},
			{
				ResourceName:  "conflux_release.r",
				ImportState:   true,
				ImportStateId: relConfigKey + "/ver_not_ours",
				ExpectError:   looseRE("only releases created by the conflux_release resource can be imported"),
			},
		},
	})
}

// canaryPolicyHCL is a policy sending canary clients to release r.
const canaryPolicyHCL = `
resource "conflux_release_policy" "p" {
  config_id = conflux_config.app.id

  rule {
    priority   = 10
    version_id = conflux_release.r.version_id
    labels     = { canary = "true" }
  }
}
`

// TestAccConfluxRelease_UpdateContent is the headline workflow: the
// content of the release the canary rule points at changes, and one apply
// (no lifecycle block) publishes the new version and moves the rule to it.
func TestAccConfluxRelease_UpdateContent(t *testing.T) {
	e := newAccEnv(t)
	const a, b = `{"pool":1}`, `{"pool":2}`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6,
		Steps: []resource.TestStep{
			{
				Config: relConfigHCL(e, releaseHCL("r", a, "", false)+canaryPolicyHCL),
				Check: resource.ComposeAggregateTestCheckFunc(
					e.checkVersions("conflux_release.r", cxemu.Version{Content: a}),
					e.checkConfluxPolicy(map[int]string{10: "conflux_release.r"}),
				),
			},
			{
				Config: relConfigHCL(e, releaseHCL("r", b, "", false)+canaryPolicyHCL),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("conflux_release.r", plancheck.ResourceActionReplace),
						plancheck.ExpectResourceAction("conflux_release_policy.p", plancheck.ResourceActionUpdate),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				// The old version is kept: versions are immutable. The
				// canary rule points at the new one, the config is in
				// sync, and the retired release is cleaned up.
				Check: resource.ComposeAggregateTestCheckFunc(
					e.checkVersions("conflux_release.r", cxemu.Version{Content: a}, cxemu.Version{Content: b}),
					resource.TestCheckResourceAttr("conflux_release.r", "content_sha256", api.SHA256Hex(b)),
					e.checkConfluxPolicy(map[int]string{10: "conflux_release.r"}),
					e.checkResolve(t, map[string]string{"canary": "true"}, "conflux_release.r", 10),
					e.noFragments(t, "conflux_release_retired"),
					e.checkInSync(t),
				),
			},
			{
				// Destroying the release and the policy together leaves
				// nothing behind.
				Config: relConfigHCL(e, ""),
				Check: resource.ComposeAggregateTestCheckFunc(
					e.noFragments(t, "conflux_release"),
					e.noFragments(t, "conflux_release_policy"),
					e.noFragments(t, "conflux_release_retired"),
					e.checkInSync(t),
				),
			},
		},
	})
}

// checkInSync checks that the app config synced without error.
func (e *accEnv) checkInSync(t *testing.T) resource.TestCheckFunc {
	return func(*terraform.State) error {
		tg, err := e.Client.GetTarget(t.Context(), relTarget)
		if err != nil {
			return err
		}
		if tg.Status == nil || tg.Status.Error != "" {
			return fmt.Errorf("config %s is not in sync: %+v", relConfigKey, tg.Status)
		}
		return nil
	}
}

func TestAccConfluxRelease_SchemaViolation(t *testing.T) {
	e := newAccEnv(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6,
		Steps: []resource.TestStep{
			{
				Config:      relConfigHCL(e, releaseHCL("bad", `{"pool":"ten"}`, "", false)),
				ExpectError: looseRE("/content/pool: must be of type integer"),
			},
			{
				// The failed release left nothing behind, and the config
				// syncs again.
				Config: relConfigHCL(e, ""),
				Check: resource.ComposeAggregateTestCheckFunc(
					e.noFragments(t, "conflux_release"),
					func(*terraform.State) error {
						vs, err := e.appVersions()
						if err != nil {
							return err
						}
						if len(vs) != 0 {
							return fmt.Errorf("Conflux holds %d versions, want none", len(vs))
						}
						tg, err := e.Client.GetTarget(t.Context(), relTarget)
						if err != nil {
							return err
						}
						if tg.Status == nil || tg.Status.Error != "" {
							return fmt.Errorf("config %s is not in sync: %+v", relConfigKey, tg.Status)
						}
						return nil
					},
				),
			},
		},
	})
}

// canaryHCL is four releases (v3 stable, v4 the canary), optionally the
// policy sending canaries to v4 and everyone else to v3, and the resolved
// release for a canary and for a client without labels.
func canaryHCL(e *accEnv, withPolicy bool) string {
	hcl := releaseHCL("v1", `{"pool":1}`, "v1", false) +
		releaseHCL("v2", `{"pool":2}`, "v2", false) +
		releaseHCL("v3", `{"pool":3}`, "v3", true) +
		releaseHCL("v4", `{"pool":4,"canary":true}`, "v4 canary", false)
	if withPolicy {
		hcl += `
resource "conflux_release_policy" "p" {
  config_id = conflux_config.app.id

  rule {
    priority   = 10
    version_id = conflux_release.v4.version_id
    labels     = { canary = "true" }
  }
  rule {
    priority   = 0
    version_id = conflux_release.v3.version_id
  }
}

data "conflux_resolved_release" "canary" {
  config_id = conflux_release_policy.p.id
  labels    = { canary = "true" }
}

data "conflux_resolved_release" "default" {
  config_id = conflux_release_policy.p.id
}
`
	}
	return relConfigHCL(e, hcl)
}

// resolveHTTP asks the Conflux reference server which version a client
// with labels receives from the config key (tenant/application/environment/name).
func (e *accEnv) resolveHTTP(t *testing.T, key string, labels map[string]string) (vid string, priority int, err error) {
	parts := strings.SplitN(key, "/", 4)
	if len(parts) != 4 {
		return "", 0, fmt.Errorf("config key %q: want tenant/application/environment/name", key)
	}
	q := url.Values{"tenant": {parts[0]}, "application": {parts[1]}, "environment": {parts[2]}, "name": {parts[3]}}
	for k, v := range labels {
		q.Set("label."+k, v)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, e.ConfluxURL+"/v1/resolve?"+q.Encode(), nil)
	if err != nil {
		return "", 0, err
	}
	req.Header.Set("Authorization", "Bearer "+accCXToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	var body struct {
		VersionID string `json:"version_id"`
		Priority  int    `json:"matched_rule_priority"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return "", 0, fmt.Errorf("resolve %v: HTTP %d: %w", labels, resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", 0, fmt.Errorf("resolve %v: HTTP %d", labels, resp.StatusCode)
	}
	return body.VersionID, body.Priority, nil
}

// checkResolve checks that Conflux itself sends a client with labels to
// the version of resource res, through the rule with priority prio.
func (e *accEnv) checkResolve(t *testing.T, labels map[string]string, res string, prio int) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		want, err := attr(s, res, "version_id")
		if err != nil {
			return err
		}
		got, gotPrio, err := e.resolveHTTP(t, relConfigKey, labels)
		if err != nil {
			return err
		}
		if got != want || gotPrio != prio {
			return fmt.Errorf("Conflux resolves %v to %s (priority %d), want %s of %s (priority %d)", labels, got, gotPrio, want, res, prio)
		}
		return nil
	}
}

// checkConfluxPolicy checks the app config's policy in Conflux: rules as
// priority → resource whose version the rule points at (a rule's labels
// are checked to be empty exactly for priority 0).
func (e *accEnv) checkConfluxPolicy(want map[int]string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		c, err := e.appConfig()
		if err != nil {
			return err
		}
		p, _ := e.Conflux.Policy(c.ID)
		if len(p.Rules) != len(want) {
			return fmt.Errorf("Conflux policy has %d rules, want %d: %+v", len(p.Rules), len(want), p.Rules)
		}
		for _, r := range p.Rules {
			res, ok := want[r.Priority]
			if !ok {
				return fmt.Errorf("Conflux policy has an unexpected rule with priority %d: %+v", r.Priority, p.Rules)
			}
			vid, err := attr(s, res, "version_id")
			if err != nil {
				return err
			}
			if r.VersionID != vid {
				return fmt.Errorf("Conflux rule with priority %d points at %s, want %s (%s)", r.Priority, r.VersionID, vid, res)
			}
			if (len(r.Labels) == 0) != (r.Priority == 0) {
				return fmt.Errorf("Conflux rule with priority %d has labels %v", r.Priority, r.Labels)
			}
		}
		return nil
	}
}

func TestAccConfluxPolicy_Canary(t *testing.T) {
	e := newAccEnv(t)
	policySrc := api.SourceRef{Kind: "Terraform", Namespace: "conflux_release_policy", Name: relConfigKey}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6,
		Steps: []resource.TestStep{
			{
				Config: canaryHCL(e, true),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("conflux_release_policy.p", "id", relConfigKey),
					resource.TestCheckResourceAttrPair("data.conflux_resolved_release.canary", "version_id", "conflux_release.v4", "version_id"),
					resource.TestCheckResourceAttrPair("data.conflux_resolved_release.canary", "release_name", "conflux_release.v4", "release_name"),
					resource.TestCheckResourceAttrPair("data.conflux_resolved_release.canary", "content_sha256", "conflux_release.v4", "content_sha256"),
					resource.TestCheckResourceAttr("data.conflux_resolved_release.canary", "matched_priority", "10"),
					resource.TestCheckResourceAttrPair("data.conflux_resolved_release.default", "version_id", "conflux_release.v3", "version_id"),
					resource.TestCheckResourceAttr("data.conflux_resolved_release.default", "matched_priority", "0"),
					e.checkResolve(t, map[string]string{"canary": "true"}, "conflux_release.v4", 10),
					e.checkResolve(t, nil, "conflux_release.v3", 0),
					e.checkResolve(t, map[string]string{"canary": "false", "zone": "eu"}, "conflux_release.v3", 0),
					e.checkConfluxPolicy(map[int]string{10: "conflux_release.v4", 0: "conflux_release.v3"}),
				),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
			{
				ResourceName:      "conflux_release_policy.p",
				ImportState:       true,
				ImportStateId:     relConfigKey,
				ImportStateVerify: true,
			},
			{
				// Someone edits the policy fragment behind Terraform's
				// back: the plan shows it and the apply puts it back.
				PreConfig: func() {
					frags, err := e.Client.ListFragments(t.Context(), relTarget, policySrc)
					if err != nil || len(frags) != 1 {
						t.Fatalf("policy fragment: %v, %d fragments", err, len(frags))
					}
					var spec api.ConfluxConfigSpec
					if err := json.Unmarshal(frags[0].Spec, &spec); err != nil || spec.Policy == nil {
						t.Fatalf("policy fragment spec %s: %v", frags[0].Spec, err)
					}
					for i := range spec.Policy.Rules {
						if spec.Policy.Rules[i].Priority == 10 {
							spec.Policy.Rules[i].Priority = 20
						}
					}
					raw, _ := json.Marshal(spec)
					gen := max(frags[0].Generation+1, time.Now().UnixNano())
					res, err := e.Client.PutFragment(t.Context(), api.Fragment{Target: relTarget, Source: policySrc, Generation: gen, Spec: raw}, api.Wait(time.Minute))
					if err != nil || res.Stale {
						t.Fatalf("edit the policy fragment: %v (stale %t)", err, res.Stale)
					}
				},
				Config: canaryHCL(e, true),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectNonEmptyPlan(),
						plancheck.ExpectResourceAction("conflux_release_policy.p", plancheck.ResourceActionUpdate),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("conflux_release_policy.p", "rule.0.priority", "10"),
					e.checkConfluxPolicy(map[int]string{10: "conflux_release.v4", 0: "conflux_release.v3"}),
					e.checkResolve(t, map[string]string{"canary": "true"}, "conflux_release.v4", 10),
				),
			},
			{
				// Without the policy resource its fragment is gone, and
				// Conflux falls back to one default rule: the newest
				// stable version.
				Config: canaryHCL(e, false),
				Check: resource.ComposeAggregateTestCheckFunc(
					e.noFragments(t, "conflux_release_policy"),
					e.checkConfluxPolicy(map[int]string{0: "conflux_release.v3"}),
					e.checkResolve(t, map[string]string{"canary": "true"}, "conflux_release.v3", 0),
				),
			},
			{
				// A policy without a default rule leaves clients without
				// the labels nothing to resolve to.
				Config: canaryHCL(e, false) + `
resource "conflux_release_policy" "canary_only" {
  config_id = conflux_config.app.id
  rule {
    priority   = 10
    version_id = conflux_release.v4.version_id
    labels     = { canary = "true" }
  }
}

data "conflux_resolved_release" "nobody" {
  config_id = conflux_release_policy.canary_only.id
  labels    = { zone = "eu" }
}
`,
				ExpectError: looseRE(`no rule of the release policy of config ` + relConfigKey + ` matches the labels {zone="eu"}`),
			},
		},
	})
}

func TestAccConfluxPolicy_Validation(t *testing.T) {
	e := newAccEnv(t)
	rule := func(prio int, labels string) string {
		return fmt.Sprintf("\n  rule {\n    priority   = %d\n    version_id = \"ver_x\"\n%s  }\n", prio, labels)
	}
	canary := "    labels     = { canary = \"true\" }\n"
	for _, tc := range []struct {
		name, rules string
		want        *regexp.Regexp
	}{
		{"duplicate priority", rule(10, canary) + rule(10, ""), looseRE("rule[0] and rule[1] both have priority 10")},
		{"two defaults", rule(10, "") + rule(0, "    labels     = {}\n"), looseRE("rule[0] and rule[1] both have no labels")},
		{"unknown version", rule(10, canary) + rule(0, ""), looseRE(`"ver_x" is not a version of config ` + relConfigKey)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: protoV6,
				Steps: []resource.TestStep{{
					Config: relConfigHCL(e, `
resource "conflux_release_policy" "p" {
  config_id = conflux_config.app.id
`+tc.rules+"}\n"),
					ExpectError: tc.want,
				}},
			})
		})
	}
}

package tfprovider_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/config"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/internal/testutil"
	"github.com/conflux-sync/conflux-sync/tfprovider"
)

const (
	// designExample is the design's Terraform example, as a user runs it.
	designExample = "../examples/canary"
	// designConfigKey is the config it manages.
	designConfigKey = "acme/shop/staging/db.json"
	// designCanaryContent is the canary release's content in the example;
	// the test changes it the way a user rolls the canary forward.
	designCanaryContent = "jsonencode({ pool = 20 })"
)

// designResources are the example's resources.
var designResources = []string{"conflux_config.db", "conflux_release.v3", "conflux_release.v4", "conflux_release_policy.db"}

// copyExample copies the example's configuration files (.tf and the
// .json they read, not the .terraform folder or state of someone who
// tried it by hand) into a new folder, passing each through edit.
func copyExample(t *testing.T, edit func(name, body string) string) string {
	t.Helper()
	dir := t.TempDir()
	entries, err := os.ReadDir(designExample)
	if err != nil {
		t.Fatal(err)
	}
	for _, entry := range entries {
		name := entry.Name()
		if entry.IsDir() || (filepath.Ext(name) != ".tf" && filepath.Ext(name) != ".json") {
			continue
		}
		body, err := os.ReadFile(filepath.Join(designExample, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(edit(name, string(body))), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// sameJSONAttr checks that a and b hold equal JSON.
func sameJSONAttr(a, b string) error {
	var va, vb any
	if err := json.Unmarshal([]byte(a), &va); err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(b), &vb); err != nil {
		return err
	}
	if !reflect.DeepEqual(va, vb) {
		return fmt.Errorf("JSON %s differs from %s", a, b)
	}
	return nil
}

// sameOutputs checks that two outputs hold the same value.
func sameOutputs(a, b string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		outs := s.RootModule().Outputs
		if outs[a] == nil || outs[b] == nil {
			return fmt.Errorf("outputs %s and %s: missing", a, b)
		}
		if outs[a].Value != outs[b].Value {
			return fmt.Errorf("output %s = %v, want %s = %v", a, outs[a].Value, b, outs[b].Value)
		}
		return nil
	}
}

// checkDesignResolves checks what a canary client and any other client
// receive, both from the example's data sources and from Conflux itself:
// the canary release v4 through the rule with priority 100, and the
// stable v3 through the default rule.
func (e *accEnv) checkDesignResolves(t *testing.T) resource.TestCheckFunc {
	conflux := func(labels map[string]string, res string, prio int) resource.TestCheckFunc {
		return func(s *terraform.State) error {
			want, err := attr(s, res, "version_id")
			if err != nil {
				return err
			}
			got, gotPrio, err := e.resolveHTTP(t, designConfigKey, labels)
			if err != nil {
				return err
			}
			if got != want || gotPrio != prio {
				return fmt.Errorf("Conflux resolves %v to %s (priority %d), want %s of %s (priority %d)", labels, got, gotPrio, want, res, prio)
			}
			return nil
		}
	}
	return resource.ComposeAggregateTestCheckFunc(
		sameOutputs("canary_client_gets", "canary_version"),
		sameOutputs("other_client_gets", "stable_version"),
		resource.TestCheckResourceAttrPair("data.conflux_resolved_release.canary", "version_id", "conflux_release.v4", "version_id"),
		conflux(map[string]string{"canary": "true"}, "conflux_release.v4", 100),
		conflux(map[string]string{"region": "eu"}, "conflux_release.v3", 1),
		conflux(nil, "conflux_release.v3", 1),
	)
}

// TestAccDesignExample is the acceptance test of the design's example
// (examples/canary), applied verbatim with the provider configured from
// the environment as its README says: create, a content change of the
// release the canary rule points at in one apply, an import of all four
// resources into a fresh state, and destroy, with an empty plan after each
// step.
func TestAccDesignExample(t *testing.T) {
	e := newAccEnv(t)
	// The example has no provider block: the in-process provider reads
	// the cluster from the environment, and answers to the registry
	// address the example's required_providers names.
	t.Setenv(tfprovider.EnvAddr, e.URL)
	t.Setenv(tfprovider.EnvToken, accToken)
	t.Setenv("TF_ACC_PROVIDER_NAMESPACE", "conflux-sync")

	main, err := os.ReadFile(filepath.Join(designExample, "main.tf"))
	if err != nil {
		t.Fatal(err)
	}
	if regexp.MustCompile(`(?m)^\s*(provider\s+"conflux"|auth_token\s*=|server_endpoint\s*=)`).Match(main) {
		t.Fatal("examples/canary/main.tf must not configure the provider: credentials come from the environment")
	}
	if n := strings.Count(string(main), designCanaryContent); n != 1 {
		t.Fatalf("examples/canary/main.tf holds %q %d times, want once (the canary's content)", designCanaryContent, n)
	}
	schemaJSON, err := os.ReadFile(filepath.Join(designExample, "schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	verbatim := copyExample(t, func(_, body string) string { return body })
	// The user rolls the canary forward: new content for v4, nothing else.
	roll := func(name, body string) string {
		if name != "main.tf" {
			return body
		}
		return strings.Replace(body, designCanaryContent, "jsonencode({ pool = 25 })", 1)
	}
	rolled := copyExample(t, roll)
	// terraform import leaves the outputs null in the state, which the test
	// framework cannot read, so the import steps use the configuration
	// without its outputs; the apply after them fills them in.
	importable := copyExample(t, func(name, body string) string {
		return regexp.MustCompile(`(?ms)^output "[^"]+" \{$.*?^\}$`).ReplaceAllString(roll(name, body), "")
	})
	// Terraform forgets the resources (they stay in conflux-sync), as after
	// a lost state.
	forget := copyExample(t, func(name, body string) string {
		if name != "main.tf" {
			return body
		}
		removed := body[:strings.Index(body, "\nresource ")+1]
		for _, res := range designResources {
			removed += "\nremoved {\n  from = " + res + "\n  lifecycle {\n    destroy = false\n  }\n}\n"
		}
		return removed
	})

	firstCanary := ""          // v4's version id before the content change
	ids := map[string]string{} // resource → import id
	capture := func(s *terraform.State) error {
		for _, res := range designResources {
			rs, ok := s.RootModule().Resources[res]
			if !ok {
				return fmt.Errorf("%s not in the state", res)
			}
			id := rs.Primary.Attributes["id"]
			if rs.Type == "conflux_release" {
				id = rs.Primary.Attributes["config_id"] + "/" + rs.Primary.Attributes["version_id"]
			}
			ids[res] = id
		}
		return nil
	}
	emptyAfterApply := resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}
	versionID := knownvalue.StringRegexp(regexp.MustCompile(`^ver_`))
	priorities := []statecheck.StateCheck{
		statecheck.ExpectKnownOutputValue("canary_client_priority", knownvalue.Int64Exact(100)),
		statecheck.ExpectKnownOutputValue("other_client_priority", knownvalue.Int64Exact(1)),
		statecheck.ExpectKnownOutputValue("stable_version", versionID),
		statecheck.ExpectKnownOutputValue("canary_version", versionID),
	}

	steps := []resource.TestStep{
		{
			ConfigDirectory:   config.StaticDirectory(verbatim),
			ConfigStateChecks: priorities,
			Check: resource.ComposeAggregateTestCheckFunc(
				e.checkDesignResolves(t),
				func(s *terraform.State) error {
					var err error
					firstCanary, err = attr(s, "conflux_release.v4", "version_id")
					return err
				},
			),
			ConfigPlanChecks: emptyAfterApply,
		},
		{
			// One apply: a new v4, the canary rule follows it, no lifecycle
			// block, and no retired release is left behind.
			ConfigDirectory:   config.StaticDirectory(rolled),
			ConfigStateChecks: priorities,
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("conflux_release.v4", plancheck.ResourceActionDestroyBeforeCreate),
					plancheck.ExpectResourceAction("conflux_release_policy.db", plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction("conflux_release.v3", plancheck.ResourceActionNoop),
					plancheck.ExpectResourceAction("conflux_config.db", plancheck.ResourceActionNoop),
				},
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
			Check: resource.ComposeAggregateTestCheckFunc(
				e.checkDesignResolves(t),
				func(s *terraform.State) error {
					v4, err := attr(s, "conflux_release.v4", "version_id")
					if err != nil {
						return err
					}
					if v4 == firstCanary {
						return fmt.Errorf("the canary release kept version %s after its content changed", v4)
					}
					return nil
				},
				e.noFragments(t, "conflux_release_retired"),
				capture,
			),
		},
	}
	// Each resource imports to the attributes it was created with (the
	// schema as equal JSON: an imported state holds the stored spelling).
	for _, res := range designResources {
		step := resource.TestStep{
			ConfigDirectory:   config.StaticDirectory(importable),
			ResourceName:      res,
			ImportState:       true,
			ImportStateIdFunc: func(*terraform.State) (string, error) { return ids[res], nil },
			ImportStateVerify: true,
		}
		if res == "conflux_config.db" {
			step.ImportStateVerifyIgnore = []string{"schema"}
			step.ImportStateCheck = func(states []*terraform.InstanceState) error {
				if len(states) != 1 {
					return fmt.Errorf("imported %d instances", len(states))
				}
				return sameJSONAttr(states[0].Attributes["schema"], string(schemaJSON))
			}
		}
		steps = append(steps, step)
	}
	// A fresh state: forget everything, import all four, and the plan of
	// the unchanged configuration is empty.
	steps = append(steps, resource.TestStep{ConfigDirectory: config.StaticDirectory(forget)})
	for _, res := range designResources {
		steps = append(steps, resource.TestStep{
			ConfigDirectory:    config.StaticDirectory(importable),
			ResourceName:       res,
			ImportState:        true,
			ImportStateIdFunc:  func(*terraform.State) (string, error) { return ids[res], nil },
			ImportStatePersist: true,
		})
	}
	// The plan after the imports changes no resource (only the outputs,
	// which an import does not write), and clients still resolve as before.
	var noChanges []plancheck.PlanCheck
	for _, res := range designResources {
		noChanges = append(noChanges, plancheck.ExpectResourceAction(res, plancheck.ResourceActionNoop))
	}
	steps = append(steps, resource.TestStep{
		ConfigDirectory:   config.StaticDirectory(rolled),
		ConfigStateChecks: priorities,
		Check:             e.checkDesignResolves(t),
		ConfigPlanChecks:  resource.ConfigPlanChecks{PreApply: noChanges, PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
	})

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6,
		Steps:                    steps,
		// The final destroy leaves no Terraform fragment of the config, and
		// Conflux deletes the config conflux-sync created.
		CheckDestroy: func(*terraform.State) error {
			target := api.TargetRef{Kind: api.KindConfluxConfig, Name: designConfigKey}
			frags, err := e.Client.ListFragments(t.Context(), target, api.SourceRef{})
			if err != nil {
				return err
			}
			if len(frags) > 0 {
				return fmt.Errorf("%d fragments of %s are left after destroy, e.g. %s", len(frags), designConfigKey, frags[0].Source)
			}
			testutil.WaitFor(t, time.Minute, "Conflux to delete "+designConfigKey, func() bool {
				for _, c := range e.Conflux.Configs() {
					if c.Tenant+"/"+c.Application+"/"+c.Environment+"/"+c.Name == designConfigKey {
						return false
					}
				}
				return true
			})
			return nil
		},
	})
}

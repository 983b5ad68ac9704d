package tfprovider_test

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
)

// stripTerraformBlock removes the top-level terraform { ... } block: the
// example names the provider by its registry source, which the test's
// in-process provider does not answer to.
func stripTerraformBlock(t *testing.T, src string) string {
	t.Helper()
	start := strings.Index(src, "\nterraform {")
	if start < 0 {
		return src
	}
	depth := 0
	for i := start + 1; i < len(src); i++ {
		switch src[i] {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return src[:start+1] + src[i+1:]
			}
		}
	}
	t.Fatal("examples: unbalanced braces in the terraform block")
	return ""
}

// TestAccExamples applies examples/canary/main.tf as a user would (with
// the test cluster's credentials in front) and checks that each kind of
// client resolves to the release the policy gives it.
func TestAccExamples(t *testing.T) {
	e := newAccEnv(t)
	raw, err := os.ReadFile("../examples/canary/main.tf")
	if err != nil {
		t.Fatal(err)
	}
	src := string(raw)
	if regexp.MustCompile(`(?m)^\s*(provider\s+"conflux"|auth_token\s*=)`).MatchString(src) {
		t.Fatal("examples/canary/main.tf must not configure the provider: credentials come from the environment")
	}
	config := e.provider() + stripTerraformBlock(t, src)

	sameOutputs := func(a, b string) resource.TestCheckFunc {
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
	nonEmpty := knownvalue.StringRegexp(regexp.MustCompile(`.`))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6,
		Steps: []resource.TestStep{{
			Config: config,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownOutputValue("stable_version", nonEmpty),
				statecheck.ExpectKnownOutputValue("canary_version", nonEmpty),
				statecheck.ExpectKnownOutputValue("canary_client_priority", knownvalue.Int64Exact(100)),
				statecheck.ExpectKnownOutputValue("other_client_priority", knownvalue.Int64Exact(1)),
			},
			Check: resource.ComposeAggregateTestCheckFunc(
				sameOutputs("canary_client_gets", "canary_version"),
				sameOutputs("other_client_gets", "stable_version"),
				func(s *terraform.State) error {
					if v := s.RootModule().Outputs["canary_version"]; v != nil && v.Value == s.RootModule().Outputs["stable_version"].Value {
						return fmt.Errorf("canary and stable releases share version %v", v.Value)
					}
					return nil
				},
			),
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
		}},
	})
}

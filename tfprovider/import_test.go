package tfprovider_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
)

// designHCL is the design's example as a user writes it: a schema of
// pretty-printed JSON (as file() of a schema file reads it), a retention
// policy, the releases v3 (stable) and v4, and a policy with a canary rule
// and a default rule spelled "labels = {}".
func designHCL(e *accEnv) string {
	return e.provider() + `
resource "conflux_config" "app" {
  tenant      = "acme"
  application = "shop"
  environment = "prod"
  name        = "` + relConfigName + `"
  format      = "json"
  schema      = <<-EOT
    {
      "type": "object",
      "required": ["pool"],
      "properties": {
        "pool": { "type": "integer" }
      }
    }
  EOT

  retention_policy {
    strategy = "OR"
    rules {
      type = "count"
      keep = 10
    }
  }
}
` + releaseHCL("v3", `{"pool":3}`, "v3", true) + releaseHCL("v4", `{"pool":4,"canary":true}`, "v4 canary", false) + `
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
    labels     = {}
  }
}
`
}

// designResources are the example's resources.
var designResources = []string{"conflux_config.app", "conflux_release.v3", "conflux_release.v4", "conflux_release_policy.p"}

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

// TestAccImport_DesignExample imports every resource of the design's
// example and wants an empty plan afterwards: pretty-printed JSON and
// "labels = {}" must not show as changes.
func TestAccImport_DesignExample(t *testing.T) {
	e := newAccEnv(t)
	hcl := designHCL(e)
	ids := map[string]string{}     // resource → import id, captured from the first step
	schemas := map[string]string{} // the schema as the first step stored it
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
		schemas["created"] = s.RootModule().Resources["conflux_config.app"].Primary.Attributes["schema"]
		return nil
	}
	importID := func(res string) resource.ImportStateIdFunc {
		return func(*terraform.State) (string, error) { return ids[res], nil }
	}
	steps := []resource.TestStep{{
		Config: hcl,
		Check:  capture,
		ConfigPlanChecks: resource.ConfigPlanChecks{
			PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
		},
	}}
	// Import each resource next to the created one: the same attributes,
	// the schema as equal JSON (the state of a created config keeps the
	// configuration's spelling, an imported one the stored spelling).
	for _, res := range designResources {
		step := resource.TestStep{
			Config:            hcl,
			ResourceName:      res,
			ImportState:       true,
			ImportStateIdFunc: importID(res),
			ImportStateVerify: true,
		}
		if res == "conflux_config.app" {
			step.ImportStateVerifyIgnore = []string{"schema"}
			step.ImportStateCheck = func(states []*terraform.InstanceState) error {
				if len(states) != 1 {
					return fmt.Errorf("imported %d instances", len(states))
				}
				return sameJSONAttr(states[0].Attributes["schema"], schemas["created"])
			}
		}
		steps = append(steps, step)
	}
	// Terraform forgets the resources (they stay in conflux-sync), then
	// imports them into the state as a user would after losing it.
	removed := e.provider()
	for _, res := range designResources {
		removed += "\nremoved {\n  from = " + res + "\n  lifecycle {\n    destroy = false\n  }\n}\n"
	}
	steps = append(steps, resource.TestStep{Config: removed})
	for _, res := range designResources {
		steps = append(steps, resource.TestStep{
			Config:             hcl,
			ResourceName:       res,
			ImportState:        true,
			ImportStateIdFunc:  importID(res),
			ImportStatePersist: true,
		})
	}
	// The next plan is empty.
	steps = append(steps, resource.TestStep{Config: hcl, PlanOnly: true})
	resource.Test(t, resource.TestCase{ProtoV6ProviderFactories: protoV6, Steps: steps})
}

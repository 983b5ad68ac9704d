package tfprovider_test

import (
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	cxemu "github.com/conflux-sync/conflux-sync/emulator/conflux"
)

// retentionHCL is the design's conflux_config with the given rule blocks
// in its retention_policy.
func retentionHCL(e *accEnv, blocks string) string {
	return e.provider() + `
resource "conflux_config" "db" {
  tenant      = "acme"
  application = "shop"
  environment = "prod"
  name        = "db.json"
  format      = "json"
  schema      = jsonencode({ type = "object", required = ["pool"], properties = { pool = { type = "integer" } } })

  retention_policy {
    strategy = "OR"
` + blocks + `  }
}
`
}

// retentionBlock is one retention rule block named name.
func retentionBlock(name, typ string, keep int) string {
	return fmt.Sprintf("    %s {\n      type = %q\n      keep = %d\n    }\n", name, typ, keep)
}

// checkRetention checks the retention policy of db.json in Conflux.
func (e *accEnv) checkRetention(strategy string, want ...cxemu.RetentionRule) resource.TestCheckFunc {
	return func(*terraform.State) error {
		for _, c := range e.Conflux.Configs() {
			if c.Name != "db.json" {
				continue
			}
			rp := c.RetentionPolicy
			if rp == nil || rp.Strategy != strategy || fmt.Sprint(rp.Rules) != fmt.Sprint(want) {
				return fmt.Errorf("Conflux retention policy of db.json is %+v, want %s %v", rp, strategy, want)
			}
			return nil
		}
		return fmt.Errorf("Conflux has no config db.json")
	}
}

// TestAccConfluxConfig_RetentionRulesSpelling: the design writes retention
// rules as `rules` blocks; the provider takes them as it takes `rule`,
// keeps the spelling in the state, and refuses a config mixing both.
func TestAccConfluxConfig_RetentionRulesSpelling(t *testing.T) {
	e := newAccEnv(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6,
		Steps: []resource.TestStep{
			{
				Config:      retentionHCL(e, retentionBlock("rule", "count", 10)+retentionBlock("rules", "days", 30)),
				ExpectError: looseRE("Conflicting retention rule blocks"),
			},
			{
				Config:      retentionHCL(e, ""),
				ExpectError: looseRE("retention_policy needs at least one `rule` (or `rules`) block"),
			},
			{
				Config: retentionHCL(e, retentionBlock("rules", "count", 10)+retentionBlock("rules", "days", 30)),
				Check: resource.ComposeAggregateTestCheckFunc(
					e.checkRetention("OR", cxemu.RetentionRule{Type: "count", Keep: 10}, cxemu.RetentionRule{Type: "days", Keep: 30}),
					resource.TestCheckResourceAttr("conflux_config.db", "retention_policy.rules.#", "2"),
					resource.TestCheckResourceAttr("conflux_config.db", "retention_policy.rules.1.keep", "30"),
				),
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				// `rule` still works, and a change of spelling alone
				// writes the same policy.
				Config: retentionHCL(e, retentionBlock("rule", "count", 10)+retentionBlock("rule", "days", 30)),
				Check: resource.ComposeAggregateTestCheckFunc(
					e.checkRetention("OR", cxemu.RetentionRule{Type: "count", Keep: 10}, cxemu.RetentionRule{Type: "days", Keep: 30}),
					resource.TestCheckResourceAttr("conflux_config.db", "retention_policy.rule.#", "2"),
				),
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
	})
}

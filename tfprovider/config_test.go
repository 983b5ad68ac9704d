package tfprovider_test

import (
	"encoding/json"
	"fmt"
	"regexp"
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

const configKey = "acme/shop/prod/db.json"

// configHCL is a conflux_config with the given description; the schema is
// written with another key order and spacing than the stored one.
func configHCL(e *accEnv, description string) string {
	return e.provider() + fmt.Sprintf(`
resource "conflux_config" "db" {
  tenant      = "acme"
  application = "shop"
  environment = "prod"
  name        = "db.json"
  format      = "json"
  description = %q
  schema      = jsonencode({ type = "object", required = ["pool"], properties = { pool = { type = "integer" } } })

  retention_policy {
    strategy = "OR"
    rules {
      type = "count"
      keep = 10
    }
  }
}

data "conflux_config" "db" {
  tenant      = conflux_config.db.tenant
  application = conflux_config.db.application
  environment = conflux_config.db.environment
  name        = conflux_config.db.name
}
`, description)
}

// confluxConfig returns the reference server's config named db.json.
func (e *accEnv) confluxConfig(name string) (desc, schema string, ok bool) {
	for _, c := range e.Conflux.Configs() {
		if c.Name == name {
			return c.Description, string(c.Schema), true
		}
	}
	return "", "", false
}

func TestAccConfluxConfig_Basic(t *testing.T) {
	e := newAccEnv(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6,
		CheckDestroy: func(*terraform.State) error {
			if _, _, ok := e.confluxConfig("db.json"); ok {
				return fmt.Errorf("config db.json still in Conflux after destroy")
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: configHCL(e, "shop database"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("conflux_config.db", tfjsonpath.New("id"), knownvalue.StringExact(configKey)),
					statecheck.ExpectKnownValue("conflux_config.db", tfjsonpath.New("conflux_id"), knownvalue.StringRegexp(regexp.MustCompile(`^cfg_`))),
					statecheck.ExpectKnownValue("data.conflux_config.db", tfjsonpath.New("owner"), knownvalue.StringExact("Terraform/conflux_config/"+configKey)),
					statecheck.ExpectKnownValue("data.conflux_config.db", tfjsonpath.New("synced"), knownvalue.Bool(true)),
				},
				Check: func(*terraform.State) error {
					desc, schema, ok := e.confluxConfig("db.json")
					if !ok || desc != "shop database" || schema == "" {
						return fmt.Errorf("Conflux holds %q, %q, %v", desc, schema, ok)
					}
					return nil
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				ResourceName:      "conflux_config.db",
				ImportState:       true,
				ImportStateId:     configKey,
				ImportStateVerify: true,
			},
			{
				// An update in place reaches Conflux.
				Config: configHCL(e, "shop database, v2"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction("conflux_config.db", plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(*terraform.State) error {
					if desc, _, _ := e.confluxConfig("db.json"); desc != "shop database, v2" {
						return fmt.Errorf("Conflux description %q", desc)
					}
					return nil
				},
			},
			{
				// Drift: the fragment changed outside Terraform shows in
				// the plan, and apply repairs it.
				PreConfig: func() {
					spec := json.RawMessage(`{"config":{"format":"json","description":"edited by hand"}}`)
					if _, err := e.Client.PutFragment(t.Context(), api.Fragment{Target: api.TargetRef{Kind: api.KindConfluxConfig, Name: configKey},
						Source: api.SourceRef{Kind: "Terraform", Namespace: "conflux_config", Name: configKey}, Generation: time.Now().UnixNano(), Spec: spec}, api.Wait(time.Minute)); err != nil {
						t.Fatal(err)
					}
				},
				Config: configHCL(e, "shop database, v2"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction("conflux_config.db", plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(*terraform.State) error {
					if desc, schema, _ := e.confluxConfig("db.json"); desc != "shop database, v2" || schema == "" {
						return fmt.Errorf("after the repair Conflux holds %q, %q", desc, schema)
					}
					return nil
				},
			},
		},
	})
}

// TestAccConfluxConfig_OwnedByGit: a config whose metadata a Git source
// owns is refused with a diagnostic, and nothing is written.
func TestAccConfluxConfig_OwnedByGit(t *testing.T) {
	e := newAccEnv(t)
	gitSource := api.SourceRef{Kind: api.SourceKindGit, Name: "app-configs"}
	target := api.TargetRef{Kind: api.KindConfluxConfig, Name: configKey}
	if _, err := e.Client.PutFragment(t.Context(), api.Fragment{Target: target, Source: gitSource, Generation: 1,
		Spec: json.RawMessage(`{"config":{"format":"json","description":"from git"}}`)}, api.Wait(time.Minute)); err != nil {
		t.Fatal(err)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6,
		Steps: []resource.TestStep{{
			Config:      configHCL(e, "from terraform"),
			ExpectError: regexp.MustCompile(`(?s)owned by\s+GitSource/app-configs`),
		}},
	})
	frags, err := e.Client.ListFragments(t.Context(), target, api.SourceRef{})
	if err != nil {
		t.Fatal(err)
	}
	if len(frags) != 1 || frags[0].Source != gitSource {
		t.Errorf("fragments of %s: %+v; want only the Git source's", configKey, frags)
	}
	if desc, _, _ := e.confluxConfig("db.json"); desc != "from git" {
		t.Errorf("Conflux description %q: Terraform wrote to a config Git owns", desc)
	}
}

// TestAccProvider_Configuration: unknown and missing provider settings are
// attribute diagnostics.
func TestAccProvider_Configuration(t *testing.T) {
	newAccEnv(t) // skips without TF_ACC
	t.Setenv("CONFLUX_SYNC_ADDR", "")
	t.Setenv("CONFLUX_SYNC_TOKEN", "")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6,
		Steps: []resource.TestStep{{
			Config: `
provider "conflux" {}
data "conflux_config" "x" {
  tenant      = "a"
  application = "b"
  environment = "c"
  name        = "d"
}`,
			ExpectError: regexp.MustCompile(`Missing server_endpoint`),
		}},
	})
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6,
		Steps: []resource.TestStep{{
			Config: `
resource "terraform_data" "addr" {
  input = "http://127.0.0.1:7780"
}
provider "conflux" {
  server_endpoint = terraform_data.addr.output
  auth_token      = "t"
}
data "conflux_config" "x" {
  tenant      = "a"
  application = "b"
  environment = "c"
  name        = "d"
}`,
			ExpectError: regexp.MustCompile(`Unknown server_endpoint`),
		}},
	})
}

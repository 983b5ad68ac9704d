package tfprovider_test

import (
	"fmt"
	"net/http/httptest"
	"os"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	cxemu "github.com/conflux-sync/conflux-sync/emulator/conflux"
)

// TestAccProvider_ConfluxEndpoint points server_endpoint at a Conflux
// server instead of conflux-sync: the plan fails at configure time with a
// diagnostic on server_endpoint that says what to point at.
func TestAccProvider_ConfluxEndpoint(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance tests run with TF_ACC=1 (make testacc, make test)")
	}
	cx := cxemu.New(cxemu.Config{Tokens: []string{accCXToken}})
	srv := httptest.NewServer(cx)
	t.Cleanup(srv.Close)
	for _, token := range []string{accCXToken, accToken} { // Conflux's own token, and one it does not know
		t.Run(token[:6], func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: protoV6,
				Steps: []resource.TestStep{{
					Config: fmt.Sprintf(`
provider "conflux" {
  server_endpoint = %q
  auth_token      = %q
}

resource "conflux_config" "app" {
  tenant      = "acme"
  application = "shop"
  environment = "prod"
  name        = "app.json"
  format      = "json"
}
`, srv.URL, token),
					PlanOnly: true,
					ExpectError: regexp.MustCompile(`in provider "conflux":\s+\d+:\s+server_endpoint = "` + regexp.QuoteMeta(srv.URL) + `"\s+` +
						looseRE(srv.URL+` answers like a Conflux server, not a conflux-sync node: GET /v1/status got HTTP 404`).String() + `.*` +
						looseRE(`Point server_endpoint (or CONFLUX_SYNC_ADDR) at the admin API of a conflux-sync node`).String()),
				}},
			})
		})
	}
}

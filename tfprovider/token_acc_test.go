package tfprovider_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/conflux-sync/conflux-sync/tfprovider"
)

// Admin tokens the rotation test moves from and to.
const (
	rotTokenOld = "0a7c3e91b5d2f4086c1e9a3b7d5f20481c6e9a2b4d7f0135e8c2a6b9d4f17e30"
	rotTokenNew = "f18d2c6a9e3b5074d1c8e2a6b9f3d507e4a1c7b2d9f6038a5e1c4b8d2f7a6093"
)

// TestAccProvider_TokenFileRotatedDuringApply runs the real terraform with
// auth_token_file while the token rotates between the plan and the apply's
// write: the server drops the old token at once (no overlap) and answers
// 401, the provider reads the file again and retries with the new token,
// and the apply succeeds. CONFLUX_SYNC_TOKEN_PATH works the same way when
// the provider block names no token.
func TestAccProvider_TokenFileRotatedDuringApply(t *testing.T) {
	env := newAccEnv(t)
	dir := t.TempDir()
	serverFile := filepath.Join(dir, "server-tokens")
	clientFile := filepath.Join(dir, "token")
	writeFileT(t, serverFile, "admin:"+rotTokenOld+"\n")
	if err := env.Tokens.Reload(serverFile); err != nil {
		t.Fatal(err)
	}
	writeFileT(t, clientFile, rotTokenOld+"\n")

	var rotated atomic.Bool
	var refused atomic.Int64
	target, err := url.Parse(env.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && r.URL.Path == "/v1/fragments" && rotated.CompareAndSwap(false, true) {
			// The rotation lands while the apply runs: the client's file
			// and the servers' token file get the new token, and the old
			// one stops working at once.
			writeFileT(t, clientFile, rotTokenNew+"\n")
			writeFileT(t, serverFile, "admin:"+rotTokenNew+"\n")
			if err := env.Tokens.Reload(serverFile); err != nil {
				t.Error(err)
			}
		}
		sw := &statusWriter{ResponseWriter: w}
		proxy.ServeHTTP(sw, r)
		if sw.code == http.StatusUnauthorized {
			refused.Add(1)
		}
	}))
	t.Cleanup(front.Close)

	resourceHCL := `
resource "conflux_config" "app" {
  tenant      = "acme"
  application = "shop"
  environment = "rotate"
  name        = "app.json"
  format      = "json"
}
`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6,
		Steps: []resource.TestStep{
			{
				Config: fmt.Sprintf("provider \"conflux\" {\n  server_endpoint = %q\n  auth_token_file = %q\n}\n", front.URL, clientFile) + resourceHCL,
				Check: func(*terraform.State) error {
					if !rotated.Load() {
						return fmt.Errorf("the apply wrote no fragment, so the token did not rotate during it")
					}
					if refused.Load() == 0 {
						return fmt.Errorf("the server never refused the old token: the test did not exercise the retry")
					}
					return nil
				},
			},
			{
				PreConfig: func() { t.Setenv(tfprovider.EnvTokenFile, clientFile) },
				Config:    fmt.Sprintf("provider \"conflux\" {\n  server_endpoint = %q\n}\n", front.URL) + resourceHCL,
				PlanOnly:  true,
			},
		},
	})
	t.Logf("the server refused the rotated token %d time(s); every refused request was retried with the new one", refused.Load())
}

// TestAccProvider_TokenSettingsRefused: two token settings at one level,
// or a file that does not hold a token alone, fail the plan with an error
// on the attribute that says what to change.
func TestAccProvider_TokenSettingsRefused(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance tests run with TF_ACC=1 (make testacc, make test)")
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "token")
	writeFileT(t, good, rotTokenOld+"\n")
	serverFormat := filepath.Join(dir, "server-tokens")
	writeFileT(t, serverFormat, "admin:"+rotTokenOld+"\n")
	empty := filepath.Join(dir, "empty")
	writeFileT(t, empty, "\n")
	for _, tc := range []struct {
		name, provider string
		env            map[string]string
		want           string
	}{
		{"auth_token and auth_token_file", fmt.Sprintf("auth_token = %q\n  auth_token_file = %q", rotTokenOld, good), nil,
			`auth_token_file = .*\s+The provider block sets both auth_token and auth_token_file; set one of\s+them`},
		{"both environment variables", "", map[string]string{tfprovider.EnvToken: rotTokenOld, tfprovider.EnvTokenFile: good},
			`Conflicting CONFLUX_SYNC_TOKEN and CONFLUX_SYNC_TOKEN_PATH`},
		{"the server's token file", fmt.Sprintf("auth_token_file = %q", serverFormat), nil,
			regexp.QuoteMeta(serverFormat) + ` line 1: starts with "admin:" like a line of the server's --token-file`},
		{"an empty file from the environment", "", map[string]string{tfprovider.EnvTokenFile: empty},
			`auth_token_file \(from CONFLUX_SYNC_TOKEN_PATH\):\s+` + regexp.QuoteMeta(empty) + `\s+is\s+empty`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: protoV6,
				Steps: []resource.TestStep{{
					Config: fmt.Sprintf(`
provider "conflux" {
  server_endpoint = "http://127.0.0.1:1"
  %s
}

resource "conflux_config" "app" {
  tenant      = "acme"
  application = "shop"
  environment = "prod"
  name        = "app.json"
  format      = "json"
}
`, tc.provider),
					PlanOnly: true,
					// terraform wraps long messages at spaces.
					ExpectError: regexp.MustCompile(`(?s)` + strings.ReplaceAll(tc.want, " ", `\s+`)),
				}},
			})
		})
	}
}

// statusWriter remembers the status a handler answered with.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// writeFileT replaces a file by renaming a new one over it, as the kubelet
// updates a mounted Secret.
func writeFileT(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path+".new", []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
}

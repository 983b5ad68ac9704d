package tfprovider

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// The plan refuses what cloudflared refuses and warns where the admin API
// accepts a value with a warning (api.RuleHostnameWarning,
// api.RuleServiceWarning).
func TestIngressValueChecks(t *testing.T) {
	tests := []struct {
		name           string
		check          stringCheck
		value          string
		errors, warned int
	}{
		{"DNS name", hostnameValidator, "api.example.com", 0, 0},
		{"Unicode name", hostnameValidator, "bücher.example", 0, 0},
		{"underscore", hostnameValidator, "a_b.example.com", 0, 1},
		{"trailing dot", hostnameValidator, "api.example.com.", 0, 1},
		{"port", hostnameValidator, "api.example.com:443", 1, 0},
		{"socks-proxy", serviceValidator, "socks-proxy", 0, 0},
		{"hello-world", serviceValidator, "hello-world", 0, 0},
		{"socks5 is not a service", serviceValidator, "socks5", 1, 0},
		{"unix socket without a path", serviceValidator, "unix:", 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := validator.StringRequest{Path: path.Root("value"), ConfigValue: types.StringValue(tt.value)}
			var resp validator.StringResponse
			tt.check.ValidateString(context.Background(), req, &resp)
			if e, w := resp.Diagnostics.ErrorsCount(), resp.Diagnostics.WarningsCount(); e != tt.errors || w != tt.warned {
				t.Fatalf("%q: %d errors and %d warnings (%v), want %d and %d", tt.value, e, w, resp.Diagnostics, tt.errors, tt.warned)
			}
		})
	}
}

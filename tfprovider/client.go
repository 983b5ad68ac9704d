package tfprovider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/conflux-sync/conflux-sync/api"
)

// SourceKind is the source kind of every fragment the provider writes; the
// source's namespace is the resource type and its name the resource id.
const SourceKind = "Terraform"

// writeWait bounds how long a write waits for the leader's sync, so that
// computed attributes (version ids) are real and downstream errors become
// diagnostics.
const writeWait = 2 * time.Minute

// clientData is what Configure hands to resources and data sources.
type clientData struct {
	api *api.Client
}

// clientFrom extracts the provider's client in a Configure method; nil
// (without a diagnostic) before the provider is configured.
func clientFrom(providerData any, diags *diag.Diagnostics) *clientData {
	if providerData == nil {
		return nil
	}
	c, ok := providerData.(*clientData)
	if !ok {
		diags.AddError("Unexpected provider data", fmt.Sprintf("expected *clientData, got %T; this is a bug in the provider", providerData))
		return nil
	}
	return c
}

// source names the fragment source of one resource instance.
func source(resourceType, id string) api.SourceRef {
	return api.SourceRef{Kind: SourceKind, Namespace: resourceType, Name: id}
}

// generation orders the provider's writes to one fragment: every write
// carries a larger generation than the last.
func generation() int64 { return time.Now().UnixNano() }

// getTarget reads a target; false when it does not exist.
func getTarget(ctx context.Context, c *api.Client, ref api.TargetRef) (api.Target, bool, error) {
	t, err := c.GetTarget(ctx, ref)
	if isNotFound(err) {
		return api.Target{}, false, nil
	}
	return t, err == nil, err
}

// fragmentOf returns the fragment of src in t, nil when there is none.
func fragmentOf(t api.Target, src api.SourceRef) *api.Fragment {
	for i := range t.Fragments {
		if t.Fragments[i].Source == src {
			return &t.Fragments[i]
		}
	}
	return nil
}

// conflictOf returns the reason of a conflict src lost in t, "" if none.
func conflictOf(t api.Target, src api.SourceRef) string {
	for _, c := range t.Conflicts {
		if c.Loser == src {
			return c.Reason
		}
	}
	return ""
}

// syncError returns the downstream error a waited write reported for
// target, "" when it synced.
func syncError(res api.WriteResult, target api.TargetRef) string {
	for _, ts := range res.Sync {
		if ts.Target == target && ts.Status != nil && ts.Status.Error != "" {
			return ts.Status.Error
		}
	}
	return ""
}

// syncStatus returns the status a waited write reported for target.
func syncStatus(res api.WriteResult, target api.TargetRef) *api.SyncStatus {
	for _, ts := range res.Sync {
		if ts.Target == target {
			return ts.Status
		}
	}
	return nil
}

// addAPIError adds err as a diagnostic: on the attribute an API field
// error names (through fields, which maps API field paths to attribute
// paths), else on at.
func addAPIError(diags *diag.Diagnostics, at path.Path, summary string, err error) {
	var ae *api.Error
	if errors.As(err, &ae) {
		msg := ae.Message
		if ae.Field != "" {
			msg = ae.Field + ": " + msg
		}
		diags.AddAttributeError(at, summary, fmt.Sprintf("%s (HTTP %d %s)", msg, ae.Status, ae.Code))
		return
	}
	diags.AddAttributeError(at, summary, err.Error())
}

// isNotFound reports whether err is the admin API's 404.
func isNotFound(err error) bool {
	var ae *api.Error
	return errors.As(err, &ae) && ae.Status == http.StatusNotFound
}

// mustRegexp compiles a validator's pattern (constants of this package).
func mustRegexp(pattern string) *regexp.Regexp { return regexp.MustCompile(pattern) }

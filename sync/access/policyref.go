package access

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/store"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/engine"
)

// An application's policies are reusable policies in precedence order,
// each named by id (a UUID) or by name: the cloudflare.AccessPolicy
// target of that name, else the account's one reusable policy so named.
// Names are resolved at every flush (Place), so the application follows
// a policy that is re-created with a new id.

// isPolicyName reports whether a spec.policies entry names a policy
// rather than giving its id (policy ids are UUIDs).
func isPolicyName(entry string) bool { return !cfapi.IsUUID(entry) }

// resolvePolicies returns spec.policies as ids, in the order given. A
// named policy that neither a target of this cluster nor the account has
// yet makes the application wait for that target (engine.WaitFor): it is
// flushed again as soon as the target records its policy. waits is a
// dry run's whole plan when the plan of a named target creates its
// policy.
func (k apps) resolvePolicies(ctx context.Context, dryRun bool, s Spec) (ids []string, waits string, err error) {
	if !containsFunc(s.Policies, isPolicyName) {
		return s.Policies, "", nil
	}
	ids = make([]string, 0, len(s.Policies))
	for _, entry := range s.Policies {
		if !isPolicyName(entry) {
			ids = append(ids, strings.ToLower(entry))
			continue
		}
		id, waits, err := k.policyID(ctx, dryRun, s, entry)
		if err != nil || waits != "" {
			return nil, waits, err
		}
		ids = append(ids, id)
	}
	return ids, "", nil
}

// policyID resolves one policy name: the id the cloudflare.AccessPolicy
// target of that name recorded, else the account's reusable policy with
// that name.
func (k apps) policyID(ctx context.Context, dryRun bool, s Spec, name string) (id, waits string, err error) {
	if k.store == nil {
		return "", "", engine.Permanent(errors.New("Access application flusher has no store to resolve spec.policies by name"))
	}
	var p cfapi.AccessPolicy
	var ok bool
	err = k.store.View(func(v *store.View) (err error) {
		p, ok, err = cfapi.ResolveAccessPolicy(v, name, dryRun)
		return err
	})
	switch {
	case errors.Is(err, cfapi.ErrAccessPolicyToBeCreated):
		return "", "waits for Access policy " + name + " (to be created): Access application " + s.Domain + " lists it", nil
	case errors.Is(err, cfapi.ErrAccessPolicyNotReady):
		return "", "", cfapi.WaitForAccessPolicy(name, "not created yet")
	case err != nil:
		return "", "", err
	case ok && s.AccountID != "" && p.AccountID != "" && p.AccountID != s.AccountID:
		return "", "", engine.Permanent(fmt.Errorf("Access policy %s is in account %s, not in the application's account %s", name, p.AccountID, s.AccountID))
	case ok:
		return p.ID, "", nil
	}
	if k.clients == nil {
		return "", "", engine.Permanent(errors.New("Access application flusher has no clients to look spec.policies up"))
	}
	a, err := k.clients.For(ctx, s.AccountID, s.Credentials)
	if err != nil {
		return "", "", err
	}
	if id, err = cfapi.FindAccessPolicy(ctx, a, name); err != nil || id != "" {
		return id, "", err
	}
	return "", "", cfapi.WaitForAccessPolicy(name, "no such target in this cluster, nor a reusable policy by that name in account "+a.ID)
}

// IDPolicies is the downstream id key of the policy ids an application
// lists, comma-separated in precedence order (names resolved), recorded
// when it lists any.
const IDPolicies = "policyIds"

func policyIDs(ids []string) map[string]string {
	if len(ids) == 0 {
		return nil
	}
	return map[string]string{IDPolicies: strings.Join(ids, ",")}
}

func containsFunc(list []string, f func(string) bool) bool {
	for _, s := range list {
		if f(s) {
			return true
		}
	}
	return false
}

// checkPolicies checks spec.policies: ids or names (a name may have
// inner spaces, as the API's policy names do), none twice, and an id
// given once by id and once by name is the API's to refuse.
func checkPolicies(entries []string) *api.FieldError {
	const field = "spec.policies"
	if len(entries) > maxList {
		return &api.FieldError{Field: field, Reason: fmt.Sprintf("has %d entries; at most %d", len(entries), maxList)}
	}
	seen := make(map[string]int, len(entries))
	for i, e := range entries {
		f := fmt.Sprintf("%s[%d]", field, i)
		if strings.TrimSpace(e) == "" {
			return &api.FieldError{Field: f, Reason: "must not be empty"}
		}
		if fe := cfapi.CheckObjectName(f, e, 255); fe != nil {
			fe.Reason = "a policy id or the name of a cloudflare.AccessPolicy target or reusable policy: " + fe.Reason
			return fe
		}
		key := e
		if !isPolicyName(e) {
			key = strings.ToLower(e)
		}
		if j, dup := seen[key]; dup {
			return &api.FieldError{Field: f, Reason: fmt.Sprintf("duplicates %s[%d]", field, j)}
		}
		seen[key] = i
	}
	return nil
}

package cfapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	cf6 "github.com/cloudflare/cloudflare-go/v6"
	"github.com/cloudflare/cloudflare-go/v6/packages/pagination"
	"github.com/cloudflare/cloudflare-go/v6/zero_trust"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/store"
	"github.com/conflux-sync/conflux-sync/sync/engine"
)

// IDAccessPolicy is the downstream id key of a reusable Access policy's
// id, as its cloudflare.AccessPolicy target records it (the name
// StringKe's status uses too).
const IDAccessPolicy = "policyId"

// ErrAccessPolicyNotReady means a cloudflare.AccessPolicy target of this
// cluster has no recorded policy id yet. Like ErrVirtualNetworkNotReady
// it is waited for (WaitForAccessPolicy), not a failure.
var ErrAccessPolicyNotReady = errors.New("Access policy not created yet")

// ErrAccessPolicyToBeCreated means, in a dry run, that the plan of the
// referenced cloudflare.AccessPolicy target creates its policy.
var ErrAccessPolicyToBeCreated = errors.New("Access policy to be created")

// AccessPolicy is a reusable policy as its cloudflare.AccessPolicy target
// recorded it.
type AccessPolicy struct {
	AccountID string
	ID        string
}

// ResolveAccessPolicy returns the policy the cloudflare.AccessPolicy
// target named name last synced (in a dry run: the one its plan found).
// ok is false when this cluster has no such target (no fragments,
// nothing recorded): the name may then be a policy of the account. A
// target whose policy is not made yet is ErrAccessPolicyNotReady, or
// ErrAccessPolicyToBeCreated when a dry run's plan creates it.
func ResolveAccessPolicy(v *store.View, name string, dryRun bool) (p AccessPolicy, ok bool, err error) {
	ref := api.TargetRef{Kind: KindAccessPolicy, Name: name}
	account, id, state, err := resolveRecorded(v, ref, IDAccessPolicy, dryRun)
	if err != nil {
		return AccessPolicy{}, false, err
	}
	return AccessPolicy{AccountID: account, ID: id}, state != recordedNone,
		recordedError(ref, state, ErrAccessPolicyToBeCreated, ErrAccessPolicyNotReady)
}

// WaitForAccessPolicy is the engine.WaitFor of a flush that needs the
// policy the cloudflare.AccessPolicy target name makes; why says what is
// missing, in the words of api.WaitingPart.For.
func WaitForAccessPolicy(name, why string) error {
	return engine.WaitFor(api.TargetRef{Kind: KindAccessPolicy, Name: name}, policyWait{name, why})
}

// policyWait says what waits, and is ErrAccessPolicyNotReady.
type policyWait struct{ name, why string }

func (w policyWait) Error() string { return "Access policy " + w.name + " (" + w.why + ")" }
func (w policyWait) Unwrap() error { return ErrAccessPolicyNotReady }

// ListAccessPolicies returns the account's reusable policies (no
// application id: the API lists only those), every page of them.
func ListAccessPolicies(ctx context.Context, a *Account) ([]zero_trust.AccessPolicyListResponse, error) {
	all, err := EveryPage(ctx, "list Access policies", accessPerPage,
		func(ctx context.Context, page, perPage int64) (*pagination.V4PagePaginationArray[zero_trust.AccessPolicyListResponse], error) {
			return a.V6.ZeroTrust.Access.Policies.List(ctx, zero_trust.AccessPolicyListParams{
				AccountID: cf6.F(a.ID), Page: cf6.F(page), PerPage: cf6.F(perPage)})
		})
	return all, err
}

// FindAccessPolicy returns the id of the account's one reusable policy
// called name; "" when there is none. Names need not be unique: several
// is a permanent error, since only an id can say which.
func FindAccessPolicy(ctx context.Context, a *Account, name string) (string, error) {
	all, err := ListAccessPolicies(ctx, a)
	if err != nil {
		return "", err
	}
	var ids []string
	for _, p := range all {
		if p.Name == name {
			ids = append(ids, p.ID)
		}
	}
	switch len(ids) {
	case 0:
		return "", nil
	case 1:
		return ids[0], nil
	}
	return "", engine.Permanent(fmt.Errorf("%d Access policies in account %s are named %q: name the policy by id", len(ids), a.ID, name))
}

// AppsUsingPolicy returns the names of the account's Access applications
// that list policy id. v6 answers an application as a union of every
// application type, its policies typed per type (an interface{}); only
// their ids are needed, read from the field as the API answered it.
func AppsUsingPolicy(ctx context.Context, a *Account, id string) ([]string, error) {
	apps, err := EveryPage(ctx, "list Access applications", accessPerPage,
		func(ctx context.Context, page, perPage int64) (*pagination.V4PagePaginationArray[zero_trust.AccessApplicationListResponse], error) {
			return a.V6.ZeroTrust.Access.Applications.List(ctx, zero_trust.AccessApplicationListParams{
				AccountID: cf6.F(a.ID), Page: cf6.F(page), PerPage: cf6.F(perPage)})
		})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, app := range apps {
		var policies []struct {
			ID string `json:"id"`
		}
		if raw := app.JSON.Policies.Raw(); raw != "" && raw != "null" {
			if err := json.Unmarshal([]byte(raw), &policies); err != nil {
				return nil, fmt.Errorf("decode the policies of Access application %s: %w", app.ID, err)
			}
		}
		for _, p := range policies {
			if p.ID == id {
				out = append(out, app.Name)
				break
			}
		}
	}
	return out, nil
}

// IDAccessGroup is the downstream id key of an Access group's id, as its
// cloudflare.AccessGroup target records it.
const IDAccessGroup = "groupId"

// ErrAccessGroupNotReady means a cloudflare.AccessGroup target of this
// cluster has no recorded group id yet: waited for (WaitForAccessGroup),
// not a failure.
var ErrAccessGroupNotReady = errors.New("Access group not created yet")

// ErrAccessGroupToBeCreated means, in a dry run, that the plan of the
// referenced cloudflare.AccessGroup target creates its group.
var ErrAccessGroupToBeCreated = errors.New("Access group to be created")

// ResolveAccessGroup returns the account and id of the group the
// cloudflare.AccessGroup target named name last synced (in a dry run:
// planned); ok is false when this cluster has no such target. Its errors
// are ErrAccessGroupNotReady and ErrAccessGroupToBeCreated.
func ResolveAccessGroup(v *store.View, name string, dryRun bool) (accountID, id string, ok bool, err error) {
	ref := api.TargetRef{Kind: KindAccessGroup, Name: name}
	accountID, id, state, err := resolveRecorded(v, ref, IDAccessGroup, dryRun)
	if err != nil {
		return "", "", false, err
	}
	return accountID, id, state != recordedNone, recordedError(ref, state, ErrAccessGroupToBeCreated, ErrAccessGroupNotReady)
}

// WaitForAccessGroup is the engine.WaitFor of a flush that needs the
// group the cloudflare.AccessGroup target name makes.
func WaitForAccessGroup(name, why string) error {
	return engine.WaitFor(api.TargetRef{Kind: KindAccessGroup, Name: name}, groupWait{name, why})
}

type groupWait struct{ name, why string }

func (w groupWait) Error() string { return "Access group " + w.name + " (" + w.why + ")" }
func (w groupWait) Unwrap() error { return ErrAccessGroupNotReady }

// accessPerPage is the page size of the Access lists: the API's largest.
const accessPerPage = 1000

// ListAccessGroups returns the account's Access groups, every page of
// them.
func ListAccessGroups(ctx context.Context, a *Account) ([]zero_trust.AccessGroupListResponse, error) {
	return EveryPage(ctx, "list Access groups", accessPerPage,
		func(ctx context.Context, page, perPage int64) (*pagination.V4PagePaginationArray[zero_trust.AccessGroupListResponse], error) {
			return a.V6.ZeroTrust.Access.Groups.List(ctx, zero_trust.AccessGroupListParams{
				AccountID: cf6.F(a.ID), Page: cf6.F(page), PerPage: cf6.F(perPage)})
		})
}

// FindAccessGroup returns the id of the account's one Access group
// called name; "" when there is none, a permanent error when several
// share it.
func FindAccessGroup(ctx context.Context, a *Account, name string) (string, error) {
	groups, err := ListAccessGroups(ctx, a)
	if err != nil {
		return "", err
	}
	var ids []string
	for _, g := range groups {
		if g.Name == name {
			ids = append(ids, g.ID)
		}
	}
	switch len(ids) {
	case 0:
		return "", nil
	case 1:
		return ids[0], nil
	}
	return "", engine.Permanent(fmt.Errorf("%d Access groups in account %s are named %q: name the group by id", len(ids), a.ID, name))
}

package accesspolicy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/store"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/engine"
)

// A policy's group rule names its Access group by id, as the API takes
// it ({"group": {"id": "…"}}), or by name ({"group": {"name": "staff"}}):
// the cloudflare.AccessGroup target of that name, else the account's one
// group so named. Names are resolved at every flush (Place) and sent as
// ids, so a group re-created under a new id is followed.

// groupRef is the inside of a group rule.
type groupRef struct {
	ID   *string `json:"id"`
	Name *string `json:"name"`
}

// groupName returns the name a rule names its group by, if it is a
// group rule that does.
func groupName(rule json.RawMessage) (string, bool) {
	var r struct {
		Group *groupRef `json:"group"`
	}
	if json.Unmarshal(rule, &r) != nil || r.Group == nil || r.Group.Name == nil {
		return "", false
	}
	return *r.Group.Name, true
}

// checkGroupRules checks group rules by name: a name, not together with
// an id.
func checkGroupRules(lists ...cfapi.AccessRuleList) *api.FieldError {
	for _, l := range lists {
		for i, rule := range l.Rules {
			var r struct {
				Group *groupRef `json:"group"`
			}
			if json.Unmarshal(rule, &r) != nil || r.Group == nil || r.Group.Name == nil {
				continue
			}
			field := fmt.Sprintf("%s[%d].group", l.Field, i)
			if r.Group.ID != nil {
				return &api.FieldError{Field: field, Reason: "give either id or name (a cloudflare.AccessGroup target or a group of the account), not both"}
			}
			if fe := cfapi.CheckObjectName(field+".name", *r.Group.Name, maxNameLen); fe != nil {
				return fe
			}
		}
	}
	return nil
}

// resolveGroups returns s with every group named by name given by id.
// A group neither a target of this cluster nor the account has yet makes
// the policy wait for that target; waits is a dry run's whole plan when
// a target's plan creates the group.
func (k policies) resolveGroups(ctx context.Context, dryRun bool, s Spec) (Spec, string, error) {
	for _, l := range []*[]json.RawMessage{&s.Include, &s.Exclude, &s.Require} {
		var out []json.RawMessage
		for i, rule := range *l {
			name, ok := groupName(rule)
			if !ok {
				continue
			}
			id, waits, err := k.groupID(ctx, dryRun, s, name)
			if err != nil || waits != "" {
				return s, waits, err
			}
			if out == nil {
				out = append([]json.RawMessage(nil), (*l)...)
			}
			out[i] = json.RawMessage(`{"group":{"id":` + quote(id) + `}}`)
		}
		if out != nil {
			*l = out
		}
	}
	return s, "", nil
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// groupID resolves one group name, like an application's policy names.
func (k policies) groupID(ctx context.Context, dryRun bool, s Spec, name string) (id, waits string, err error) {
	if k.store == nil {
		return "", "", engine.Permanent(errors.New("Access policy flusher has no store to resolve a group rule's name"))
	}
	var account string
	var ok bool
	err = k.store.View(func(v *store.View) (err error) {
		account, id, ok, err = cfapi.ResolveAccessGroup(v, name, dryRun)
		return err
	})
	switch {
	case errors.Is(err, cfapi.ErrAccessGroupToBeCreated):
		return "", "waits for Access group " + name + " (to be created): Access policy " + s.Name + " names it", nil
	case errors.Is(err, cfapi.ErrAccessGroupNotReady):
		return "", "", cfapi.WaitForAccessGroup(name, "not created yet")
	case err != nil:
		return "", "", err
	case ok && s.AccountID != "" && account != "" && account != s.AccountID:
		return "", "", engine.Permanent(fmt.Errorf("Access group %s is in account %s, not in the policy's account %s", name, account, s.AccountID))
	case ok:
		return id, "", nil
	}
	if k.clients == nil {
		return "", "", engine.Permanent(errors.New("Access policy flusher has no clients to look a group rule's name up"))
	}
	a, err := k.clients.For(ctx, s.AccountID, s.Credentials)
	if err != nil {
		return "", "", err
	}
	if id, err = cfapi.FindAccessGroup(ctx, a, name); err != nil || id != "" {
		return id, "", err
	}
	return "", "", cfapi.WaitForAccessGroup(name, "no such target in this cluster, nor a group by that name in account "+a.ID)
}
